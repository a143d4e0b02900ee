"""Landing: S3 batches into the partitioned raw zone, bad records quarantined with a named reason."""
