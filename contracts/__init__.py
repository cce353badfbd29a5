"""Contracts between the KoSI services, owned by none of them.

- ``contracts.<producer>.events``: the events a service publishes, one schema per type and
  version, written field by field; importing the module registers them with
  ``kernel.events``. A sample envelope of each is in ``contracts/<producer>/samples/``.
- ``contracts.<service>.api``: the RPC (and HTTP) inputs and answers of a service, shared by
  the service and the gateway.
- ``contracts.<service>.values``: value sets several services need.

Services and the gateway import only ``kernel`` and ``contracts`` (checked by import-linter
in ``make test``), so each one can be built and deployed on its own. How to change a
contract without a coordinated deploy: ``contracts/README.md``.
"""
