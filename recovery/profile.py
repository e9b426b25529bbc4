"""Where a recovery's time goes: seconds in each stage and generator passes."""
import contextlib
import time

from utils.audio import markdown_table


class Profile:
    """Where a recovery's time goes: seconds in each stage, and the generator passes it made, each counted
    per clip: forward (one clip's audio), tangent (one of the 100 directions a Jacobian pushes through the
    generator), backward (one clip's gradient)."""

    STAGES = ('tones', 'shift search', 'network', 'readout refinement', 'Jacobians', 'Gauss-Newton steps', 'L-BFGS')

    def __init__(self):
        self.seconds = dict.fromkeys(self.STAGES, 0.0)
        self.passes = dict.fromkeys(('forward', 'tangent', 'backward'), 0)
        self.total = 0.0
        self.open = 0

    @contextlib.contextmanager
    def stage(self, name):
        """Time spent inside counts to `name`; a stage inside another counts to the outer one alone."""
        started = time.perf_counter()
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1
            if not self.open:
                self.seconds[name] += time.perf_counter() - started

    def count(self, kind, clips):
        self.passes[kind] += int(clips)

    def table(self, clips):
        """The breakdown as a markdown table, per clip, with the stages' share of the total."""
        rows = [[name, f'{seconds / clips:.4f}', f'{100 * seconds / max(self.total, 1e-12):.1f}%']
                for name, seconds in self.seconds.items()]
        staged = sum(self.seconds.values())
        rows.append(['all stages', f'{staged / clips:.4f}', f'{100 * staged / max(self.total, 1e-12):.1f}%'])
        rows.append(['total (wall clock)', f'{self.total / clips:.4f}', '100%'])
        passes = ', '.join(f'{kind} {count / clips:.1f}' for kind, count in self.passes.items())
        return (markdown_table(['stage', 'seconds per clip', 'share'], rows) +
                f'\ngenerator passes per clip: {passes}\n')
