import time
from core.serving import ModelClient
from tests.app.test_chat import _chat_with_image

def test_time_to_submit(app_env, monkeypatch):
    marks = []
    real = ModelClient.submit
    def submit(self, request):
        marks.append(time.perf_counter())
        return real(self, request)
    monkeypatch.setattr(ModelClient, "submit", submit)
    at = _chat_with_image()
    at.chat_input(key="chat_input").set_value("First?").run()
    for q in ("Second?", "Third?", "Fourth?"):
        start = time.perf_counter()
        at.chat_input(key="chat_input").set_value(q).run()
        print("to submit", round(marks[-1] - start, 3), "whole run", round(time.perf_counter() - start, 3))
