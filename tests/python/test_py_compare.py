"""bench/compare.py's interleaved rounds: merging per-round rows into one cell per contender, and
the table's ratio and per-round ratio range, on hand-worked rows (no PyTorch or t2c needed)."""
import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("compare", os.path.join(HERE, "..", "..", "bench", "compare.py"))
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)


def row(name, rnd, ms, cpu=None, mn=None, runs=10, batch=1, threads=1):
    return {"contender": name, "batch": batch, "threads": threads, "round": rnd, "median_ms": ms,
            "cpu_median_ms": cpu, "min_ms": mn if mn is not None else ms - 0.5, "runs": runs}


class MergeRounds(unittest.TestCase):
    def setUp(self):
        # three rounds: t2c simd 6, 5, 7 ms; torch int8 6, 6, 6.3 ms -> per-round ratios 1.0, 1.2, 0.9
        self.rows = [row("t2c simd", 0, 6.0, 6.1), row("torch int8", 0, 6.0, 6.2),
                     row("t2c simd", 1, 5.0, 5.1), row("torch int8", 1, 6.0, 6.0),
                     row("t2c simd", 2, 7.0, 7.3), row("torch int8", 2, 6.3, 6.4, mn=4.0),
                     row("t2c ref", 0, 30.0, 30.0, runs=3)]
        self.merged = {r["contender"]: r for r in compare.merge_rounds(self.rows)}

    def test_medians_over_rounds(self):
        simd, torch = self.merged["t2c simd"], self.merged["torch int8"]
        self.assertEqual(simd["median_ms"], 6.0)       # median of 6, 5, 7
        self.assertEqual(simd["cpu_median_ms"], 6.1)   # median of 6.1, 5.1, 7.3
        self.assertEqual(torch["median_ms"], 6.0)      # median of 6, 6, 6.3
        self.assertEqual(torch["min_ms"], 4.0)         # the smallest of the rounds
        self.assertEqual(torch["runs"], 30)
        self.assertEqual(torch["rounds"], 3)
        self.assertNotIn("round", torch)

    def test_ratio_per_round(self):
        r = self.merged["torch int8"]["ratios_by_round"]
        self.assertEqual(len(r), 3)
        for got, want in zip(r, [1.0, 1.2, 0.9]):
            self.assertAlmostEqual(got, want)
        self.assertNotIn("ratios_by_round", self.merged["t2c simd"])
        self.assertEqual(self.merged["t2c ref"]["rounds"], 1)  # measured in round 0 only

    def test_table_shows_ratio_and_range(self):
        lines = compare.table(list(self.merged.values()), [1], [1], "median_ms")
        body = lines[2]
        self.assertIn("| 6.00 (1.00×, rounds 0.90–1.20) |", body)   # torch int8
        self.assertIn("| 30.00 (5.00×) |", body)                    # t2c ref: one round, no range
        cpu = compare.table(list(self.merged.values()), [1], [1], "cpu_median_ms")[2]
        self.assertIn("| 6.20 (1.02×) |", cpu)                      # 6.2 / 6.1, no range on CPU time

    def test_one_round_is_unchanged(self):
        rows = [row("t2c simd", 0, 6.0), row("torch int8", 0, 5.4)]
        merged = {r["contender"]: r for r in compare.merge_rounds(rows)}
        self.assertEqual(merged["torch int8"]["median_ms"], 5.4)
        self.assertIn("| 5.40 (0.90×) |", compare.table(list(merged.values()), [1], [1], "median_ms")[2])


if __name__ == "__main__":
    unittest.main()
