"""``decompose`` on the test sound of tests/test_decompose.py (1 s at 8 kHz, 6 atoms of
20 ms): with and without the least-squares refit of the lasso amplitudes, and with the
learner's starting atoms ``init="chunk"`` (what ``decompose`` uses) against ``"events"`` (the
learner's default; set here by wrapping the learner's constructor). SNR and density.

Run: PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python docs/dev/scripts/decompose_refit.py
"""

import dictlearn.signal.estimators as estimators
from dictlearn.signal import decompose, make_sound

s = make_sound(1.0, 8000, n_plucks=3, n_clicks=6, n_chirps=2, random_state=0)
kw = {"n_atoms": 6, "atom_length_s": 0.02, "max_iter": 8, "random_state": 0}


def report(label, d):
    print(f"{label}: SNR {d.summary['snr_db']:.2f} dB, "
          f"{d.summary['nnz_per_second']:.0f} nonzeros per second")


for refit in (True, False):
    report(f"init='chunk', refit={refit}", decompose(s.x, s.sample_rate, refit=refit, **kw))

original = estimators.ConvolutionalDictionaryLearning.__init__


def with_events(self, *args, **options):
    original(self, *args, **{**options, "init": "events"})


estimators.ConvolutionalDictionaryLearning.__init__ = with_events
report("init='events', refit=True", decompose(s.x, s.sample_rate, **kw))
estimators.ConvolutionalDictionaryLearning.__init__ = original
