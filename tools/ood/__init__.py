"""Whether an expert's input is like the images it was built for, and calibrated class probabilities.

A *fingerprint* (``models/fingerprint.json`` in the bundle) summarises the images an expert was
fitted on: statistics of the network's own deepest features and cheap image checks (intensity
histogram, noise, image size). Every expert result is scored against it (``assess``): an
in-distribution score, a verdict (in, borderline, out) and the reason in words. Classifier bundles
also store a temperature, fitted on held-out labelled images, that calibrates their probabilities.
"""
