"""CLIPig YAML configs <-> graphs, both directions (see LEGACY_FORMAT.md).

import_legacy_files / import_legacy_texts / import_legacy: config(s) -> ImportResult
(graph or None, problems with key paths); export_legacy / dumps_legacy: graph ->
the YAML CLIPig reads, plus warnings about what it cannot express.
"""

from .exporter import ExportResult, dumps_legacy, export_legacy
from .importer import ImportResult, import_legacy, import_legacy_files, import_legacy_texts
from .merge import merge_documents

__all__ = ["ImportResult", "import_legacy", "import_legacy_files", "import_legacy_texts",
           "ExportResult", "export_legacy", "dumps_legacy", "merge_documents"]
