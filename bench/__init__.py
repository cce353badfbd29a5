"""Benchmarks of the KoSI platform (``make bench``). They measure and print; they assert nothing."""
