"""The local Dask cluster of ``course autograde`` admits only its own client.

Whoever connects to a Dask scheduler runs code as the instructor, and its ports are on
127.0.0.1, which every user of the machine reaches (a student's server on the course
hub). The cluster speaks TLS with a certificate made for it: a client without that
certificate, with TLS or without, is refused.
"""

import pytest
from distributed import Client

from course_lib.grading.cluster import local_cluster


def plus_one(x):
    return x + 1


def test_only_the_clusters_own_client_gets_in():
    with local_cluster(1) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        with Client(cluster) as own:
            assert own.submit(plus_one, 1).result() == 2
        for stranger in (address, address.replace("tls://", "tcp://")):
            with pytest.raises(Exception):  # noqa: B017 (any refusal will do)
                Client(stranger, timeout=5).close()
