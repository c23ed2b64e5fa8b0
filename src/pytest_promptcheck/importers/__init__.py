"""Importers: other tools' eval suites → our suite, model tables and TODOs (``promptcheck import``).

Pure data → data: no pytest and no plugin imports, so each importer is testable alone. The CLI
(:mod:`..cli.import_cmd`) writes what they return and lints the result.
"""
