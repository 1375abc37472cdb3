"""Amortized inference: LISTA family and sparse autoencoders on the shared proximal step."""
