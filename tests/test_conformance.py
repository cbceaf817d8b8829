"""Every installed model and balancer plugin against the shared contract."""

from fer_core.testing import parametrize_with_checks


@parametrize_with_checks()
def test_plugin_conformance(plugin, check):
    check(plugin)
