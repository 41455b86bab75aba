"""The tool framework: registration, declarations, calling, caching, errors and the LangChain adapter."""
