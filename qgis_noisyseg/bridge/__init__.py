"""The QGIS side's one client of the backend: it starts ``python -m qgis_noisyseg COMMAND ...
--json`` as a subprocess (torch never enters QGIS's process) and reads its events.

``process.BackendProcess`` needs only the standard library; ``environment`` (which Python runs
the backend) and ``layers`` (the file behind a map layer, a dataset's CRS and tile polygons) use QGIS, and so do
the two layer services that the panel and Processing share: ``render_layer`` (a web or memory
layer rendered into a GeoTIFF for the backend) and ``aoi_layer`` (a polygon layer written out as
the area of interest).
"""
