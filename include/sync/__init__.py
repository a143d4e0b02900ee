"""Pushing the marts to Amazon Connect Customer Profiles and the SES suppression list, sending only what changed."""
