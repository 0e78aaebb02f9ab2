"""Pictures from arrays: image grids (pillow) and matplotlib figures as PNG bytes. Knows nothing of
models, data sets or runs; everything above draws through it."""
