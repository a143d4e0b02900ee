"""Erasing a person from the buckets, the warehouse, Customer Profiles and SES.

A request names the person by one identifier (an email, a phone, or a profile_id: request.py).
``resolve`` finds every profile it belongs to and every identifier of those profiles
(resolution.py), reading the warehouse through its seam, on DuckDB or Athena alike. That set is
what is erased, through one ``Matcher``, so a line, an object and a raw-zone row are judged the
same way (matching.py). An identifier that records of other profiles hold too is not matched.

Places, in the order the DAG runs them (tasks.py; the warehouse last, because it is what
``resolve`` reads, so a retried task still finds the person):

1. Customer Profiles and the SES account-level suppression list (customer_profiles.py).
2. The landing bucket and the raw zone, manifests decremented (buckets.py).
3. The tables no build rewrites (the sync's state and log, ``profile_merges``), deleted by the
   person's keys, and the ``erasure_audit`` row (audit.py).
4. Every table dbt builds from the raw zone, rebuilt from the erased one (the DAG's ``rebuild``).
"""
