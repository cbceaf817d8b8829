"""The plugin conformance suite, shipped with fer-core so third parties run the same checks.

In a plugin's own tests::

    from fer_core.testing import parametrize_with_checks
    from my_plugin import MyModel

    @parametrize_with_checks(models=[MyModel])
    def test_conformance(plugin, check):
        check(plugin)

With no arguments it covers every plugin registered in the environment.
"""

from fer_core.testing.checks import BALANCER_CHECKS, MODEL_CHECKS, parametrize_with_checks

__all__ = ["BALANCER_CHECKS", "MODEL_CHECKS", "parametrize_with_checks"]
