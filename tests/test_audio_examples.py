"""make_audio_examples.py's page: every original and reconstruction playable, beside its spectrogram."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import TINY_RECOVERY, run_script

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
# What the page's players and pictures hold once loaded, written into its title for --dump-dom to read.
PROBE = '''<script>
window.addEventListener('load', () => setTimeout(() => {
  const audio = [...document.querySelectorAll('audio')].filter(a => a.duration > 1).length;
  const images = [...document.querySelectorAll('img')].filter(i => i.naturalWidth > 0).length;
  document.title = `loaded: audio ${audio} images ${images}`;
}, 2000));
</script>'''


def chromium(*args):
    """Headless Chromium on this machine's closed network, with a fresh profile."""
    return subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                           '--disable-background-networking', '--disable-component-update', '--disable-sync',
                           '--allow-file-access-from-files', '--user-data-dir=' + os.path.join(args[0], 'profile'),
                           *args[1:]], capture_output=True, text=True, timeout=120)


@pytest.mark.tier2
@pytest.mark.skipif(not (CHROMIUM and shutil.which('espeak-ng')), reason='needs Debian chromium and espeak-ng')
def test_audio_examples_page_plays_every_clip_beside_its_spectrogram(tiny_models, tmp_path):
    """index.html holds a player and a spectrogram for each of the 20 originals and their 60 reconstructions, with
    the figures of each; in headless Chromium all 80 players load audio and all 80 pictures decode; a screenshot
    is left in the test's folder (page.png) to look at.
    Break: make_audio_examples.py: `f'src="{html.escape(wav)}"></audio>` -> `f'src="{html.escape(wav)}.missing"></audio>`
    Break: make_audio_examples.py: `        save_spectrogram(os.path.join(folder, picture), load_audio(os.path.join(folder, wav)))` -> `        pass`
    Break: make_audio_examples.py: `    if np.isfinite(measures['latent_mse'][i]):` -> `    if False:`
    """
    out = tmp_path / 'examples'
    run_script('make_audio_examples.py', f'--out_dir={out}', f'--generator_dir={tiny_models["generator_dir"]}',
               f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_path={tiny_models["inverse_path"]}',
               '--candidates=20', '--max_iter=3', '--gauss_newton_iterations=1', *TINY_RECOVERY, timeout=1200)
    page = (out / 'index.html').read_text()
    assert len(re.findall(r'<audio ', page)) == 80 and len(re.findall(r'<img ', page)) == 80
    assert len(re.findall(r'latent MSE [\d.e+-]+<', page)) == 30  # the synthesized clips' reconstructions: z known
    assert len(re.findall(r'SNR -?[\d.]+ dB, LSD [\d.]+ dB', page)) == 60
    probed = out / 'probed.html'
    probed.write_text(page.replace('preload="none"', 'preload="auto"').replace('</body>', PROBE + '</body>'))
    dom = chromium(str(tmp_path), '--virtual-time-budget=20000', '--dump-dom', probed.as_uri()).stdout
    assert 'loaded: audio 80 images 80' in dom, re.findall(r'<title>.*?</title>', dom)
    chromium(str(tmp_path), '--window-size=1300,1600', f'--screenshot={tmp_path / "page.png"}', (out / 'index.html').as_uri())
    assert (tmp_path / 'page.png').stat().st_size > 20000
