"""Spoken-digit datasets: SC09 (`{split}/Zero_*.wav`) and FSDD (`{digit}_{speaker}_{take}.wav`)."""
import os
import re

import numpy as np
from tqdm import tqdm

from utils.audio import AudioError, is_paper_style_file, list_audio_files, load_audio

DIGITS = ('Zero', 'One', 'Two', 'Three', 'Four', 'Five', 'Six', 'Seven', 'Eight', 'Nine')
FSDD_NAME = re.compile(r'^(\d)_([A-Za-z]+)_(\d+)\.wav$')
# FSDD's official split: takes 0-4 test; of the training takes 5-49 we keep 5-9 for validation.
FSDD_SPLIT_TAKES = {'test': range(0, 5), 'valid': range(5, 10), 'train': range(10, 50),
                    'trainval': range(5, 50), 'all': range(0, 50)}


def label_of(path):
    """The digit spoken in a clip, from its name (SC09 `Seven_...` or FSDD `7_...`); None if unknown."""
    name = os.path.basename(path)
    m = FSDD_NAME.match(name)
    if m:
        return int(m.group(1))
    word = re.split(r'[_\-.]', name)[0].capitalize()
    return DIGITS.index(word) if word in DIGITS else None


def split_files(data_dir, split, exclude_speakers=(), only_speakers=()):
    """The labelled clips of one split: SC09 `data_dir/{split}/` or FSDD takes (see FSDD_SPLIT_TAKES)."""
    if not os.path.isdir(data_dir):
        raise AudioError(f'{data_dir}: no such dataset folder; put FSDD\'s recordings/ at datasets/fsdd/recordings '
                         f'or SC09 at datasets/sc09 (see datasets/README.md), or name another with --data_dir')
    sub = os.path.join(data_dir, split)
    if os.path.isdir(sub):
        files = list_audio_files(sub)
    else:
        if split not in FSDD_SPLIT_TAKES:
            raise AudioError(f'{data_dir}: no folder {split}/ and not an FSDD split '
                             f'({", ".join(FSDD_SPLIT_TAKES)})')
        takes = FSDD_SPLIT_TAKES[split]
        files = []
        for f in list_audio_files(data_dir):
            m = FSDD_NAME.match(os.path.basename(f))
            if not m or int(m.group(3)) not in takes:
                continue
            speaker = m.group(2)
            if speaker in exclude_speakers or (only_speakers and speaker not in only_speakers):
                continue
            files.append(f)
    files = [f for f in files if label_of(f) is not None]
    if not files:
        raise AudioError(f'{data_dir}: no labelled spoken-digit clips for split "{split}"')
    return files


def load_clips(files, desc='loading clips', paper_rate=True):
    """Load clips into one array; returns (audio [N, 16384], labels [N], kept files, failures). Paper-style
    files (16384 samples, 16384 Hz in the header) are read as 16 kHz audio with paper_rate, and a line says so."""
    clips, labels, kept, failures = [], [], [], []
    for f in tqdm(files, desc=desc, leave=False):
        try:
            clips.append(load_audio(f, paper_rate=paper_rate))
        except AudioError as e:
            failures.append(str(e))
            continue
        labels.append(label_of(f))
        kept.append(f)
    paper_style = [f for f in kept if paper_rate and is_paper_style_file(f)]
    if paper_style:
        which = paper_style[0] if len(paper_style) == 1 else f'{len(paper_style)} clips, {paper_style[0]} first'
        print(f'{which}: 16384 samples with 16384 Hz in the header, read as 16 kHz audio as the paper wrote it '
              f'(--paper_rate=False resamples from 16384 Hz)')
    labels = np.array([-1 if l is None else l for l in labels], np.int32)
    return np.stack(clips) if clips else np.zeros((0, 16384), np.float32), labels, kept, failures


def load_split(data_dir, split, max_clips=0, **speakers):
    """Load one split (the first max_clips files if set), reporting the clips it has to skip."""
    files = split_files(data_dir, split, **speakers)
    audio, labels, _, failures = load_clips(files[:max_clips] if max_clips else files, desc=f'loading {split}')
    for failure in failures:
        print(f'skipped {failure}')
    return audio, labels


def normalize_peak(audio, peak=0.95):
    """Scale each clip so its loudest sample is `peak` (FSDD recordings vary widely in level)."""
    top = np.max(np.abs(audio), axis=-1, keepdims=True)
    return audio * (peak / np.maximum(top, 1e-6))
