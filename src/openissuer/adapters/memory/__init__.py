"""In-memory fakes of the storage ports; they pass the same contract suite as the SQL adapters."""
