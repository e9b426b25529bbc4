"""Score 16 clips the shipped generator made (seed 777) plus Audio_Examples' Seven and Six, and 16 FSDD test takes,
by recovery_scores with the keyword settings given as JSON, under each named perturbation (issue 20 tuning).

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_sweep.py '{"patience": 4}' clean,shift37,gain+6
"""
import sys, json, time, numpy as np
from models.tf1_loader import load_generator
from models.resnet import load_inverse_mapping
from models.wavegan import synthesize, random_z
from utils.data import load_split
from utils.audio import load_audio
from utils import perturb as P
from recovery.detect import recovery_scores
from recovery.profile import Profile
n = 16
G = load_generator('checkpoint'); net = load_inverse_mapping('inverse_mapping_checkpoint/inverse_mapping.keras')
fake = synthesize(G, random_z(n, np.random.default_rng(777)))
hard = np.stack([load_audio(f'Audio_Examples/originals/{k}_synthesized.wav') for k in ('Seven','Six')])
fake = np.concatenate([fake, hard])
real, _ = load_split('datasets/fsdd/recordings', 'test'); real = real[np.random.default_rng(0).choice(300, n, replace=False)]
kw = json.loads(sys.argv[1])
for cond in sys.argv[2].split(','):
    f = {'clean': lambda a: a, 'shift37': lambda a: P.shift(a, 37), 'noise30': lambda a: P.add_noise(a, 30, np.random.default_rng(1)), 'gain+6': lambda a: P.gain_db(a, 6)}[cond]
    pr = Profile(); t = time.time()
    a = recovery_scores(f(fake), G, net, profile=pr, **kw)['score']; tf_ = (time.time()-t)/len(fake)
    t = time.time(); b = recovery_scores(f(real), G, net, profile=pr, **kw)['score']; tr = (time.time()-t)/n
    print(cond, kw, 'fake', np.round(np.sort(a)[:5], 1), 'real max', np.round(b.max(), 2), f'{tf_:.2f}/{tr:.2f} s', {k: round(v/(len(fake)+n), 3) for k, v in pr.seconds.items() if v}, flush=True)
