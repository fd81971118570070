from __future__ import annotations

import os

import pytest

from core import video as video_module
from core.media import InvalidInput
from core.video import Sampling, VideoLimits, decode_video, format_timestamp, looks_like_playlist, sniff_video
from tests.video_clips import write_clip


@pytest.mark.parametrize(("suffix", "container"), [(".mp4", "MP4"), (".mov", "MOV"), (".webm", "WEBM")])
def test_supported_containers_by_content(tmp_path, suffix, container):
    data = write_clip(tmp_path / f"clip{suffix}", seconds=3)
    clip = decode_video(data, "anything.bin")
    assert clip.container == container
    assert clip.clip.timestamps == (0.0, 1.0, 2.0)
    assert len(clip.clip.frames) == 3
    assert (clip.width, clip.height) == (160, 120)
    assert clip.decoded_frames == 30


def test_frames_follow_the_colours_over_time(tmp_path):
    clip = decode_video(write_clip(tmp_path / "c.mp4", seconds=4), "c.mp4").clip
    high = [tuple(value > 150 for value in frame.getpixel((80, 30))) for frame in clip.frames]
    assert high == [(True, False, False), (False, True, False), (False, False, True), (True, True, False)]


@pytest.mark.parametrize(
    ("fps", "max_frames", "seconds", "expected"),
    [
        (1.0, 64, 5, (0.0, 1.0, 2.0, 3.0, 4.0)),  # one frame a second
        (2.0, 64, 2, (0.0, 0.5, 1.0, 1.5)),  # two a second
        (0.5, 64, 5, (0.0, 2.0, 4.0)),  # one every two seconds
        (1.0, 3, 5, (0.0, 2.0, 4.0)),  # capped at three frames, spread over the clip
        (1.0, 1, 5, (0.0,)),
    ],
)
def test_sampling_rate_and_cap(tmp_path, fps, max_frames, seconds, expected):
    clip = decode_video(write_clip(tmp_path / "c.mp4", seconds=seconds), "c.mp4", Sampling(fps, max_frames)).clip
    assert clip.timestamps == expected
    assert clip.duration_s == pytest.approx(seconds - 0.1, abs=0.01)


def test_long_clip_is_thinned_evenly_with_bounded_memory(tmp_path):
    clip = decode_video(write_clip(tmp_path / "long.mp4", seconds=120, fps=5), "long.mp4", Sampling(1.0, 8)).clip
    assert len(clip.frames) == 8
    assert clip.timestamps[0] == 0.0 and clip.timestamps[-1] >= 100
    gaps = [later - earlier for earlier, later in zip(clip.timestamps, clip.timestamps[1:], strict=False)]
    assert max(gaps) <= 2.5 * min(gaps)


def test_frames_are_resized_to_the_model_edge_and_never_enlarged(tmp_path):
    big = decode_video(write_clip(tmp_path / "big.mp4", seconds=1, size=(1280, 720)), "b", Sampling(frame_edge=384))
    assert big.clip.frames[0].size == (384, 216)
    assert (big.width, big.height) == (1280, 720)  # the source size is still reported
    small = decode_video(write_clip(tmp_path / "small.mp4", seconds=1, size=(160, 120)), "s", Sampling(frame_edge=512))
    assert small.clip.frames[0].size == (160, 120)


def test_duration_limit_is_enforced_while_decoding(tmp_path):
    data = write_clip(tmp_path / "c.mp4", seconds=5)
    with pytest.raises(InvalidInput) as caught:
        decode_video(data, "c.mp4", limits=VideoLimits(max_duration_s=2))
    assert caught.value.key == "video.too_long"
    assert caught.value.params == {"limit_s": 2}


def test_resolution_limit(tmp_path):
    data = write_clip(tmp_path / "c.mp4", seconds=1, size=(640, 360))
    with pytest.raises(InvalidInput) as caught:
        decode_video(data, "c.mp4", limits=VideoLimits(max_side=320))
    assert caught.value.key == "video.too_big"


def test_size_limit(tmp_path):
    data = write_clip(tmp_path / "c.mp4", seconds=1)
    with pytest.raises(InvalidInput) as caught:
        decode_video(data, "c.mp4", limits=VideoLimits(max_bytes=100))
    assert caught.value.key == "media.too_large"


def test_playlist_renamed_to_mp4_is_refused():
    playlist = b"#EXTM3U\n#EXTINF:10,Clip\nhttps://example.invalid/clip.mp4\n"
    with pytest.raises(InvalidInput) as caught:
        decode_video(playlist, "movie.mp4")
    assert caught.value.key == "video.playlist"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"", "media.empty"),
        (b"GIF89a" + b"\x00" * 100, "video.unsupported"),  # an image sequence format
        (b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 64, "video.unsupported"),  # another container
        (b"\x00\x00\x00\x18ftypisom" + os.urandom(2000), "video.unreadable"),  # right header, garbage body
    ],
)
def test_bad_files(data, key):
    with pytest.raises(InvalidInput) as caught:
        decode_video(data, "clip.mp4")
    assert caught.value.key == key


def test_truncated_file(tmp_path):
    data = write_clip(tmp_path / "c.mp4", seconds=3)
    with pytest.raises(InvalidInput) as caught:
        decode_video(data[: len(data) // 2], "c.mp4")
    assert caught.value.key in ("video.unreadable", "video.no_frames")


def test_file_without_frames(tmp_path):
    data = write_clip(tmp_path / "empty.webm", seconds=0)
    with pytest.raises(InvalidInput) as caught:
        decode_video(data, "empty.webm")
    assert caught.value.key in ("video.no_frames", "video.unreadable")


def test_the_users_file_name_never_reaches_the_disk(tmp_path, monkeypatch):
    created: list[str] = []
    real_mkstemp = video_module.tempfile.mkstemp

    def recording_mkstemp(*args, **kwargs):
        descriptor, path = real_mkstemp(*args, **kwargs)
        created.append(path)
        return descriptor, path

    monkeypatch.setattr(video_module.tempfile, "mkstemp", recording_mkstemp)
    data = write_clip(tmp_path / "c.webm", seconds=1)
    decode_video(data, "../../etc/holiday video.exe")
    assert len(created) == 1
    assert "holiday" not in created[0] and not created[0].endswith(".exe")
    assert created[0].endswith(".webm")  # the extension comes from the detected container
    assert not os.path.exists(created[0])  # removed once decoded


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "MP4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "MOV"),
        (b"\x1a\x45\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webm", "WEBM"),
        (b"\x1a\x45\xdf\xa3\x9fB\x86\x81\x01B\x82\x88matroska", None),  # MKV is not on the list
        (b"#EXTM3U\n", None),
    ],
)
def test_sniff_video(head, expected):
    assert sniff_video(head) == expected


@pytest.mark.parametrize("text", [b"#EXTM3U\n", b"\xef\xbb\xbf#EXTM3U", b"[playlist]\nFile1=a.mp4", b"http://x/a.mp4"])
def test_playlists_are_recognised(text):
    assert looks_like_playlist(text)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (61.7, "1:01"), (3725, "1:02:05")])
def test_format_timestamp(seconds, text):
    assert format_timestamp(seconds) == text


@pytest.mark.parametrize("kwargs", [{"fps": 0}, {"max_frames": 65}, {"max_frames": 0}, {"frame_edge": 8}])
def test_invalid_sampling(kwargs):
    with pytest.raises(ValueError):
        Sampling(**kwargs)
