"""The QGIS side's one client of the backend: it starts ``python -m qgis_noisyseg COMMAND ...
--json`` as a subprocess (torch never enters QGIS's process) and reads its events.

``process.BackendProcess`` needs only the standard library; ``environment`` (which Python runs
the backend) and ``layers`` (the file behind a map layer) use QGIS.
"""
