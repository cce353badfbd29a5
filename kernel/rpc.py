"""``@rpc`` for the services: nameko's, with the kernel's errors declared as expected.

An expected error (bad input, not found, conflict) is the caller's business: nameko then
logs it as a warning instead of an "error handling worker" traceback.
"""
from functools import partial

from nameko.rpc import rpc as nameko_rpc

from kernel.errors import KosiError

rpc = partial(nameko_rpc, expected_exceptions=(KosiError,))
