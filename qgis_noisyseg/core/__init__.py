"""numpy + rasterio only: tiling, label rasterisation, class maps, dataset format, noise, metrics.

No Qt and no torch may be imported from here.
"""
