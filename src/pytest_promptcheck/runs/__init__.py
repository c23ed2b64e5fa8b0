"""What a run leaves and decides: the typed record, the run folder and manifest, metrics, comparison, gate."""
