"""MONAI bundles as tools run them: the workflow, the expert engine, choosing a bundle, its declarations, volumes slice by slice."""
