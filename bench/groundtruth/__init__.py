"""Ground-truth tables of tabular benchmarks: one table type, one loader per benchmark."""

from .darts import load_darts, load_nb301_surrogate_json, load_nds_json
from .nb101 import load_nb101, load_nb101_records_json, load_nb101_sample_json, load_nb101_tfrecord
from .nb201 import DEFAULT_COLUMN, NB201_COLUMNS, default_table_path, import_nb201_pth, load_nb201_csv
from .table import GroundTruthError, GroundTruthTable

__all__ = [
    "GroundTruthError",
    "GroundTruthTable",
    "NB201_COLUMNS",
    "DEFAULT_COLUMN",
    "load_nb201_csv",
    "import_nb201_pth",
    "default_table_path",
    "load_nb101",
    "load_nb101_tfrecord",
    "load_nb101_records_json",
    "load_nb101_sample_json",
    "load_darts",
    "load_nds_json",
    "load_nb301_surrogate_json",
]
