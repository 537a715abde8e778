"""The only package that imports rich: renders plain data for people."""
