"""Bulk synthetic catalog rows, for benchmarks of queries at scale.

``add_synthetic_images(catalog, 1_000_000)`` fills the catalog's tables with
generated images (instrument, imaging conditions, specimen, label) in a few
set-based statements, so that ``image_metadata`` can be queried at a size no
test folder reaches. Rows are marked ``extractor = 'synthetic'`` and their
paths start with ``/synthetic/``; never use this on a lab's catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog

SYNTHETIC_EXTRACTOR = "synthetic"
SPECIMENS = 100

_INSTRUMENTS = """
INSERT INTO instruments (instrument_id, vendor, instrument_model, instrument_serial)
VALUES ('synthetic-zeiss', 'Zeiss', 'Sigma', 'SYN-1'), ('synthetic-fei', 'FEI', 'Quanta 650 FEG', 'SYN-2')
ON CONFLICT DO NOTHING
"""

_SPECIMENS = """
INSERT INTO specimens (specimen_id, material, heat_treatment_temperature_c, cooling_method)
SELECT 'SYN' || i, CASE WHEN i % 2 = 0 THEN 'HCCI' ELSE 'steel' END, 800 + (i % 5) * 50,
       CASE WHEN i % 3 = 0 THEN 'water_quench' ELSE 'air_cool' END
FROM range(?) AS t(i)
ON CONFLICT DO NOTHING
"""

_IMAGES = """
INSERT INTO images (sha256, path, file_format, size_bytes, width_px, height_px, bit_depth, channels,
                    page_index, page_count, extractor, extractor_version, instrument_id, specimen_id,
                    label, label_source, ingested_at)
SELECT sha256('synthetic-' || n), '/synthetic/img_' || n || '.tif', 'tiff', 1228800, 1024, 768 + n % 2, 8, 1,
       0, 1, 'synthetic', '0', CASE WHEN n % 2 = 0 THEN 'synthetic-zeiss' ELSE 'synthetic-fei' END,
       'SYN' || (n % ?), ['ferrite', 'pearlite', 'martensite'][1 + n % 3], 'folder', TIMESTAMP '2026-01-01'
FROM (SELECT ? + i AS n FROM range(?) AS t(i))
ON CONFLICT DO NOTHING
"""

_CONDITIONS = """
INSERT INTO imaging_conditions (image_sha256, detector, accelerating_voltage_kv, working_distance_mm,
                                magnification, pixel_size_x_nm, pixel_size_y_nm, acquired_at)
SELECT sha256('synthetic-' || n), ['InLens', 'SE2', 'BSD', 'ETD'][1 + n % 4], 5 + (n % 26),
       5 + (n % 100) / 10.0, 500 * (1 + n % 40), 1 + n % 50, 1 + n % 50,
       TIMESTAMP '2025-01-01' + INTERVAL (n % 31536000) SECOND
FROM (SELECT ? + i AS n FROM range(?) AS t(i))
ON CONFLICT DO NOTHING
"""


def add_synthetic_images(catalog: Catalog, count: int, start: int = 0) -> None:
    """Add ``count`` generated images (numbered from ``start``) in one transaction.

    Parameters
    ----------
    catalog
        A writable catalog; the rows are marked ``extractor = 'synthetic'``.
    count
        How many images; 1,000,000 take seconds, not minutes.
    start
        First image number, so that repeated calls add new images.
    """
    with catalog.transaction():
        catalog.execute(_INSTRUMENTS)
        catalog.execute(_SPECIMENS, [SPECIMENS])
        catalog.execute(_IMAGES, [SPECIMENS, start, count])
        catalog.execute(_CONDITIONS, [start, count])
