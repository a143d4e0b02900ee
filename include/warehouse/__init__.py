"""The warehouse the Python tasks read and write."""
