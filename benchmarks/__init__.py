"""Benchmarks (``make bench``): polling policy cost, cold start and local throughput.

* :mod:`benchmarks.polling`: the real state machine on a virtual clock, cost and detection
  delay of the SDK waiter's cadence, the template's policy and the recommended one;
* :mod:`benchmarks.coldstart`: each function's init from the ``sam build`` artifact, against
  ``import boto3`` plus one client;
* :mod:`benchmarks.throughput`: concurrent requests through the ``make run`` stack over HTTP.

``python -m benchmarks`` runs them side by side, prints a table and writes
``benchmarks/results.json`` and ``benchmarks/tradeoff.svg``. Not part of ``make test``; the pure
parts (clock, prices, statistics, results schema) are tested in ``tests/benchmarks/``.
"""

#: Bumped when a key of results.json changes meaning or disappears.
SCHEMA_VERSION = 1
