import numpy as np

from reactor_web.protocol.stamp import STAMP_WIDTH, age_ms, draw_stamp, read_stamp


def test_a_stamp_survives_noise() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    draw_stamp(image, 0xA5C3F1)
    noisy = np.clip(image.astype(int) + rng.integers(-40, 40, image.shape), 0, 255).astype(np.uint8)
    assert read_stamp(noisy) == 0xA5C3F1


def test_an_unstamped_frame_reads_as_none() -> None:
    assert read_stamp(np.zeros((360, 640, 3), np.uint8)) is None
    assert read_stamp(np.zeros((8, STAMP_WIDTH, 3), np.uint8)) is None


def test_age_is_measured_on_the_wall_clock() -> None:
    image = np.zeros((32, STAMP_WIDTH, 3), np.uint8)
    stamp = draw_stamp(image)
    assert read_stamp(image) == stamp
    assert 0 <= age_ms(stamp) < 60_000
