"""The Great Expectations quality gate and its data docs."""
