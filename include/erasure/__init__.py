"""Erasing a person from the buckets, the warehouse, Customer Profiles and SES."""
