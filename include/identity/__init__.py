"""The identity-resolution model: its versions and training."""
