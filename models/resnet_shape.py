"""The ResNet's shape and input features, the settings the classifier's and inverse mapping's training share."""
import dataclasses


@dataclasses.dataclass(frozen=True)
class ResNetShape:
    features: str = 'log_magnitude'     # network input: 'log_magnitude' or 'magnitude' (the paper's real part)
    feature_channels: int = 1           # the paper stacks its feature 3 times
    peak_normalize: bool = True         # scale each clip to a peak of 1 before its STFT (loudness-invariant)
    resnet_widths: str = '16,32,64,128'  # channels of each stage (paper: 64,128,256,512, ResNet-18)
    resnet_blocks: str = '1,1,1,1'      # residual blocks of each stage (paper: 2,2,2,2)
    resnet_stem: str = 'small'          # 'small' (3x3 conv) or 'paper' (7x7 conv)
