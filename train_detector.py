"""Train the authors' deepfake detector: a two-class head on the frozen inverse-mapping network.

Real clips are FSDD's training takes; fake ones are G(z) of the generator, from z of their own stream
(no benchmark or test draws them). The head is logistic regression on the network's pooled features
(models/detectors.py). It reports accuracy on the validation takes against fresh G(z), and saves
`detector_checkpoint/encoder_head.npz`, which `detect_deepfakes.py --detector=encoder_head` reads.

    python train_detector.py
"""
from utils.flags import configure

# -----------------------------------------------------------------------------
data_dir = 'datasets/fsdd/recordings'  # real clips: FSDD recordings (see datasets/README.md)
train_split = 'train'          # FSDD: takes 10-49
valid_split = 'valid'          # FSDD: takes 5-9
generator_dir = 'checkpoint'  # the generator whose clips are the fakes
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'  # the frozen network under the head
detector_path = 'detector_checkpoint/encoder_head.npz'
max_clips = 0                  # use only this many real clips of each split (0: all); as many fakes
l2 = 1e-3                      # the head's L2 penalty
seed = 1000                    # of the fakes' z (the benchmarks draw theirs from other seeds)
# -----------------------------------------------------------------------------


def main():
    import numpy as np

    from models.detectors import LogisticRegression, encoder_features
    from models.resnet import load_inverse_mapping
    from models.tf1_loader import load_generator
    from models.wavegan import random_z, synthesize
    from utils.data import load_split

    generator = load_generator(generator_dir)
    network = load_inverse_mapping(inverse_path)

    def features_and_labels(split, stream):
        real, _ = load_split(data_dir, split, max_clips)
        fake = synthesize(generator, random_z(len(real), np.random.default_rng([seed, stream])))
        features = encoder_features(network, np.concatenate([real, fake]))
        return features, np.r_[np.zeros(len(real)), np.ones(len(fake))]

    train_x, train_y = features_and_labels(train_split, 0)
    valid_x, valid_y = features_and_labels(valid_split, 1)
    head = LogisticRegression().fit(train_x, train_y, l2=l2)
    for name, x, y in (('training', train_x, train_y), ('validation', valid_x, valid_y)):
        print(f'{name} accuracy: {100 * np.mean((head.probability(x) > 0.5) == y):.2f}% '
              f'({int(np.sum(y == 0))} real clips, {int(np.sum(y == 1))} of {generator_dir}/)')
    head.save(detector_path)
    print(f'saved {detector_path}')


if __name__ == '__main__':
    configure(globals())
    main()
