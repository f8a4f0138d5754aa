"""Blob storage for run outputs and assets, served at signed, expiring URLs."""
