"""Checks of a curated dataset. Each returns rows of one findings table (code, severity, path,
detail); only the CLI turns error rows into a non-zero exit status."""
