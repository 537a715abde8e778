"""Exact and near duplicates: hashing, exact Hamming search, grouping, resolution policies."""
