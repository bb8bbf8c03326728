"""`bench perf` runs end to end and reports consistent figures (speed targets live in its output, not here)."""

from bench.perf import VARIANTS, format_report, measure


def test_perf_measures_every_variant():
    result = measure(C=2, N=1, batch_size=16, steps=2, repeats=1, variants=tuple(VARIANTS), score_subnets=2,
                     score_images=64)
    assert set(result.loop_images_per_s) == set(VARIANTS)
    assert all(v[0] > 0 for v in result.loop_images_per_s.values())
    assert result.bare_images_per_s[0] > 0 and result.score_subnet_images_per_s[0] > 0
    report = format_report(result)
    assert "loop spos / bare" in report and "fairnas+calr+ms / spos" in report
