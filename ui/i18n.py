"""Every piece of UI text in Russian and English, in one table, and the ``t`` lookup."""

from __future__ import annotations

import re

import streamlit as st

from core.media import InvalidInput

LANGUAGES = {"ru": "Русский", "en": "English"}
_LANG_KEY = "lang"

STRINGS: dict[str, dict[str, str]] = {
    # navigation and shell
    "app.title": {"ru": "VLM Studio", "en": "VLM Studio"},
    "nav.home": {"ru": "Главная", "en": "Home"},
    "nav.chat": {"ru": "Чат", "en": "Chat"},
    "nav.ocr": {"ru": "OCR", "en": "OCR"},
    "nav.region": {"ru": "Область", "en": "Region"},
    "nav.detection": {"ru": "Поиск объектов", "en": "Detection"},
    "nav.lab": {"ru": "Лаборатория", "en": "Lab"},
    "lang.label": {"ru": "Язык интерфейса", "en": "Interface language"},
    "app.unexpected": {
        "ru": "Извините, что-то пошло не так. Код ошибки: {error_id} — сообщите его администратору. "
        "Ваши данные на месте; можно продолжать работу.",
        "en": "Sorry, something went wrong. Error id: {error_id} — please pass it to your administrator. "
        "Your data is still here; you can carry on.",
    },
    "settings.error": {
        "ru": "Ошибка конфигурации: переменная {variable} = «{value}» недопустима. Допустимо: {allowed}.",
        "en": "Configuration error: {variable} = '{value}' is not valid. Allowed: {allowed}.",
    },
    # home
    "home.title": {"ru": "VLM Studio", "en": "VLM Studio"},
    "home.intro": {
        "ru": "Загрузите изображение, PDF или короткое видео один раз — и работайте с ним на остальных страницах "
        "без повторной загрузки.",
        "en": "Upload an image, a PDF or a short video once, then work with it on the other pages without "
        "uploading it again.",
    },
    "home.upload": {
        "ru": "Изображение (JPEG, PNG, WebP), PDF или короткое видео (MP4, WebM, MOV)",
        "en": "Image (JPEG, PNG, WebP), PDF or a short video (MP4, WebM, MOV)",
    },
    "home.video_info": {
        "ru": "{name} — {width}×{height}, {seconds} с, {format}; модели показываются {frames} кадров из {decoded}",
        "en": "{name} — {width}×{height}, {seconds} s, {format}; the model is shown {frames} of {decoded} frames",
    },
    "home.pdf_page": {"ru": "Страница документа (всего {pages})", "en": "Document page (of {pages})"},
    "home.go_ocr": {"ru": "Распознать текст", "en": "Extract text"},
    "home.upload_help": {
        "ru": "Формат определяется по содержимому файла, а не по расширению. Лимит: {limit_mb} МБ.",
        "en": "The format is detected from the file's content, not its extension. Limit: {limit_mb} MB.",
    },
    "home.current": {"ru": "Текущий файл", "en": "Current file"},
    "home.image_info": {
        "ru": "{name} — {width}×{height} px, исходный формат {format}",
        "en": "{name} — {width}×{height} px, source format {format}",
    },
    "home.clear": {"ru": "Убрать файл", "en": "Remove file"},
    "home.no_media": {
        "ru": "Изображение пока не загружено.",
        "en": "No image uploaded yet.",
    },
    "home.go_chat": {"ru": "Перейти в чат", "en": "Go to chat"},
    "home.replace_hint": {
        "ru": "Чтобы заменить файл, загрузите другой — история чата начнётся заново.",
        "en": "To replace it, upload another file; the chat history starts afresh.",
    },
    # model
    "model.header": {"ru": "Модель", "en": "Model"},
    "model.picker": {"ru": "Модель этой сессии", "en": "Model of this session"},
    "model.picker_help": {
        "ru": "Выбор действует только в этой вкладке: у других пользователей остаются их модели. Сервер держит "
        "в памяти несколько моделей, пока они помещаются, и выгружает неиспользуемые.",
        "en": "The choice applies to this tab only: other users keep their models. The server keeps several "
        "models in memory while they fit and unloads unused ones.",
    },
    "model.switch_note": {
        "ru": "Эта сессия теперь работает с {new}. У других пользователей модели не меняются.",
        "en": "This session now uses {new}. Other users keep their own models.",
    },
    "model.session_caption": {"ru": "Модель сессии", "en": "Session model"},
    "model.status": {
        "ru": "{title} · устройство {device} · {dtype} · {state}",
        "en": "{title} · device {device} · {dtype} · {state}",
    },
    "model.state_loaded": {"ru": "загружена", "en": "loaded"},
    "model.state_not_loaded": {"ru": "не загружена", "en": "not loaded"},
    "model.state_pending": {"ru": "ждёт свободной памяти", "en": "waiting for memory"},
    "model.state_loading": {"ru": "загружается, {percent} %", "en": "loading, {percent} %"},
    "model.state_unloading": {"ru": "выгружается", "en": "being unloaded"},
    "model.state_failed": {"ru": "не загрузилась", "en": "failed to load"},
    "model.too_large": {
        "ru": "Модель {model} не помещается в память: ей нужно около {need_gb} ГБ, а бюджет моделей — {budget_gb} ГБ "
        "(MODEL_MEMORY_GB). Выберите модель поменьше или увеличьте бюджет.",
        "en": "Model {model} does not fit: it needs about {need_gb} GB and the model budget is {budget_gb} GB "
        "(MODEL_MEMORY_GB). Choose a smaller model or raise the budget.",
    },
    "model.load_failed": {
        "ru": "Модель {model} не загрузилась: {detail}",
        "en": "Model {model} failed to load: {detail}",
    },
    "model.params": {"ru": "{millions} млн параметров", "en": "{millions}M parameters"},
    "model.abilities": {"ru": "Умеет: {abilities}", "en": "Can do: {abilities}"},
    "ability.chat": {"ru": "чат", "en": "chat"},
    "ability.video": {"ru": "видео", "en": "video"},
    "ability.ocr": {"ru": "OCR", "en": "OCR"},
    "ability.region": {"ru": "описание области", "en": "region description"},
    "ability.grounding": {"ru": "поиск объектов", "en": "object grounding"},
    "ability.convert": {"ru": "документ в Markdown", "en": "document to Markdown"},
    "model.loading": {"ru": "Загрузка модели {model}…", "en": "Loading model {model}…"},
    "load.processor": {"ru": "Загрузка процессора и токенизатора…", "en": "Loading the processor and tokenizer…"},
    "load.weights": {"ru": "Загрузка весов…", "en": "Loading the weights…"},
    "load.download": {
        "ru": "Скачивание весов с Hugging Face Hub (один раз; может занять несколько минут)…",
        "en": "Downloading the weights from the Hugging Face Hub (once; this can take a few minutes)…",
    },
    "load.device": {"ru": "Перенос модели на устройство…", "en": "Moving the model to the device…"},
    "load.quantize": {"ru": "Перевод весов в int8…", "en": "Converting the weights to int8…"},
    "load.ready": {"ru": "Модель готова.", "en": "The model is ready."},
    "ocr.output": {"ru": "Результат", "en": "Output"},
    "ocr.output_plain": {"ru": "Простой текст", "en": "Plain text"},
    "ocr.output_structured": {"ru": "Структура (Markdown)", "en": "Structured (Markdown)"},
    "ocr.output_help": {
        "ru": "Структура: модель документов (Granite-Docling, SmolDocling) сохраняет заголовки, списки, таблицы "
        "и порядок чтения и рисует рамки элементов. Результат — Markdown, HTML и JSON.",
        "en": "Structured: a document model (Granite-Docling, SmolDocling) keeps headings, lists, tables and reading "
        "order, and draws the elements' boxes. You get Markdown, HTML and JSON.",
    },
    "convert.model": {"ru": "Модель документов", "en": "Document model"},
    "convert.model_help": {
        "ru": "Первая в списке — из настройки DOCLING_MODEL. Модель загружается при первом запуске.",
        "en": "The first one is the DOCLING_MODEL setting. The model loads on the first run.",
    },
    "convert.max_new_tokens": {"ru": "Максимум токенов на страницу", "en": "Max tokens per page"},
    "convert.max_new_tokens_help": {
        "ru": "Плотной странице с таблицами нужно несколько тысяч токенов разметки; ответ, упёршийся в предел, "
        "обрезается, но прочитанное сохраняется.",
        "en": "A dense page with tables needs a few thousand markup tokens; an answer that hits the limit is cut, "
        "and what was read is kept.",
    },
    "convert.run": {"ru": "Преобразовать страницу", "en": "Convert the page"},
    "convert.run_all": {"ru": "Все страницы ({pages})", "en": "All {pages} pages"},
    "convert.running": {
        "ru": "Модель размечает страницу {page} из {total}…",
        "en": "The model is marking up page {page} of {total}…",
    },
    "convert.page_failed": {"ru": "Страница {page} не прочитана.", "en": "Page {page} could not be read."},
    "convert.progress": {"ru": "Готово страниц: {done} из {total}", "en": "Pages done: {done} of {total}"},
    "convert.done": {
        "ru": "Страниц: {pages} · {model} · {seconds} с · {tokens} токенов",
        "en": "Pages: {pages} · {model} · {seconds} s · {tokens} tokens",
    },
    "convert.stopped": {
        "ru": "Остановлено: готово страниц {done} из {total}. Ниже — то, что успели преобразовать.",
        "en": "Stopped: {done} of {total} pages done. What was converted is below.",
    },
    "convert.cut_short": {
        "ru": "Ответ упёрся в предел токенов (страницы: {pages}). Конец этих страниц может отсутствовать — "
        "увеличьте предел в параметрах OCR.",
        "en": "The answer hit the token limit (pages: {pages}). The end of those pages may be missing: raise the "
        "limit in the OCR settings.",
    },
    "convert.empty": {
        "ru": "Модель не нашла на странице ни одного элемента.",
        "en": "The model found no elements on the page.",
    },
    "convert.tab_rendered": {"ru": "Документ", "en": "Document"},
    "convert.tab_source": {"ru": "Markdown-код", "en": "Markdown source"},
    "convert.download_md": {"ru": "Скачать .md", "en": "Download .md"},
    "convert.download_html": {"ru": "Скачать .html", "en": "Download .html"},
    "convert.download_json": {"ru": "Скачать .json (Docling)", "en": "Download .json (Docling)"},
    "convert.show_layout": {"ru": "Показать разметку страницы", "en": "Show layout"},
    "convert.show_layout_help": {
        "ru": "Рамки элементов (заголовок, текст, таблица, список, рисунок…) в пикселях исходного изображения.",
        "en": "The elements' boxes (heading, text, table, list, picture…) in the original image's pixels.",
    },
    "convert.no_layout": {
        "ru": "В ответе модели нет координат элементов этой страницы.",
        "en": "The model's answer has no element positions for this page.",
    },
    "convert.download_layout": {"ru": "Скачать изображение с разметкой", "en": "Download the image with the layout"},
    "ocr.engine": {"ru": "Чем распознавать", "en": "Read the text with"},
    "ocr.engine_model": {"ru": "Модель ({model})", "en": "The model ({model})"},
    "ocr.engine_tesseract": {"ru": "Tesseract (русский + английский)", "en": "Tesseract (Russian + English)"},
    "ocr.engine_help": {
        "ru": "Tesseract — классический движок OCR: быстрый на CPU, надёжен для кириллицы, даёт рамки строк и "
        "PDF с текстовым слоем. Модель понимает сложные страницы, но медленнее.",
        "en": "Tesseract is a classical OCR engine: fast on a CPU, reliable with Cyrillic, with line boxes and a "
        "searchable PDF. A model understands harder pages but is slower.",
    },
    "ocr.running_tesseract": {"ru": "Tesseract читает страницу…", "en": "Tesseract is reading the page…"},
    "ocr.show_boxes": {"ru": "Показать рамки текста", "en": "Show text boxes"},
    "ocr.show_boxes_help": {
        "ru": "Цвет — уверенность Tesseract: зелёный от 85 %, жёлтый от 60 %, красный ниже.",
        "en": "The colour is Tesseract's confidence: green from 85 %, amber from 60 %, red below.",
    },
    "ocr.box_level": {"ru": "Рамки", "en": "Boxes"},
    "ocr.level_lines": {"ru": "строки", "en": "lines"},
    "ocr.level_words": {"ru": "слова", "en": "words"},
    "ocr.download_boxes_png": {"ru": "Скачать изображение с рамками", "en": "Download the image with boxes"},
    "ocr.download_boxes_json": {"ru": "Скачать JSON со словами и рамками", "en": "Download JSON of words and boxes"},
    "ocr.make_pdf": {"ru": "Сделать PDF с текстовым слоем", "en": "Make a searchable PDF"},
    "ocr.pdf_help": {
        "ru": "Страница как изображение с невидимым текстом поверх: в PDF работают поиск и копирование.",
        "en": "The page as a picture with invisible text over it: search and copy work in the PDF.",
    },
    "region.read_text": {"ru": "Прочитать текст в рамке (Tesseract)", "en": "Read the text in this box (Tesseract)"},
    "ocr.make_pdf_all": {"ru": "PDF всех страниц ({pages})", "en": "A PDF of all {pages} pages"},
    "ocr.pdf_progress": {"ru": "Страница {done} из {total}…", "en": "Page {done} of {total}…"},
    "ocr.download_pdf": {"ru": "Скачать PDF с текстовым слоем", "en": "Download the searchable PDF"},
    "tesseract.missing": {
        "ru": "Tesseract не установлен полностью (нет: {missing}). Установите командой:",
        "en": "Tesseract is not fully installed (missing: {missing}). Install it with:",
    },
    "load.remote": {"ru": "Проверяем сервер модели…", "en": "Checking the model server…"},
    "remote.failed": {
        "ru": "Сервер модели {model} ({server}) ответил ошибкой: {detail}",
        "en": "The model server {server} failed on {model}: {detail}",
    },
    "remote.unauthorized": {
        "ru": "Сервер {server} не принял ключ доступа. Проверьте OPENAI_API_KEY.",
        "en": "The server {server} refused the access key. Check OPENAI_API_KEY.",
    },
    "remote.model_missing": {
        "ru": "Сервер {server} не обслуживает модель {model}. Он обслуживает: {served}. Проверьте OPENAI_MODEL.",
        "en": "The server {server} does not serve {model}. It serves: {served}. Check OPENAI_MODEL.",
    },
    "remote.unreachable": {
        "ru": "Сервер модели {server} недоступен. Он запущен? Проверьте OPENAI_BASE_URL.",
        "en": "Cannot reach the model server {server}. Is it running? Check OPENAI_BASE_URL.",
    },
    "remote.busy": {
        "ru": "Сервер модели {server} перегружен и после нескольких попыток не принял запрос. Повторите чуть позже.",
        "en": "The model server {server} is overloaded and refused the request after several tries. Try again shortly.",
    },
    "remote.dropped": {
        "ru": "Связь с сервером модели {server} прервалась посреди ответа; полученная часть сохранена.",
        "en": "The connection to the model server {server} dropped in the middle of the answer; what arrived is kept.",
    },
    "load.waiting_memory": {
        "ru": "Ждём свободной памяти: другие модели сейчас заняты…",
        "en": "Waiting for memory: the other loaded models are in use…",
    },
    "model.missing": {
        "ru": "Модель {model} не найдена в кэше {cache_dir}. Скачайте её командой (нужен интернет):",
        "en": "Model {model} was not found in the cache {cache_dir}. Fetch it with this command (needs internet):",
    },
    "model.dir_missing": {
        "ru": "Папка модели {model} не существует. Проверьте MODEL_ID / MODEL_PATH.",
        "en": "The model directory {model} does not exist. Check MODEL_ID / MODEL_PATH.",
    },
    "model.offline_hint": {
        "ru": "Без интернета интерфейс можно попробовать на крошечной случайной модели (её ответы — шум): "
        "./scripts/start.sh --tiny",
        "en": "Without internet, try the UI on a tiny random model (its answers are noise): ./scripts/start.sh --tiny",
    },
    "model.unknown": {
        "ru": "Неизвестная модель {model}: не удалось определить её семейство. Укажите в MODEL_ID модель из "
        "каталога (SmolVLM2, Florence-2, Qwen2.5-VL, InternVL) или папку с её config.json.",
        "en": "Unknown model {model}: cannot tell which family it belongs to. Set MODEL_ID to a catalogue model "
        "(SmolVLM2, Florence-2, Qwen2.5-VL, InternVL) or to a folder with its config.json.",
    },
    "model.no_ability": {
        "ru": "Модель {model} не умеет: {ability}. Выберите другую модель на главной странице.",
        "en": "Model {model} cannot do: {ability}. Choose another model on the Home page.",
    },
    "device.cuda_missing": {
        "ru": "Запрошена CUDA, но GPU недоступен — модель работает на CPU.",
        "en": "CUDA was requested but no GPU is available — the model runs on the CPU.",
    },
    "device.mps_missing": {
        "ru": "Запрошен MPS, но он недоступен — модель работает на CPU.",
        "en": "MPS was requested but is not available — the model runs on the CPU.",
    },
    "queue.position": {
        "ru": "В очереди: вы {position} — ответ начнётся, как только подойдёт ваша очередь.",
        "en": "Queued: you are {position} in line — your answer starts as soon as your turn comes.",
    },
    "queue.own_previous": {
        "ru": "Ждём окончания вашего предыдущего запроса…",
        "en": "Waiting for your previous request to finish…",
    },
    "queue.full": {
        "ru": "Сервер занят: в очереди уже {limit} запросов. Попробуйте ещё раз через минуту.",
        "en": "The server is busy: {limit} requests are already waiting. Try again in a moment.",
    },
    "queue.loading": {"ru": "Загрузка модели {model}: {percent} %", "en": "Loading {model}: {percent} %"},
    "queue.sidebar_position": {"ru": "в очереди: {position}", "en": "queued: {position} in line"},
    "queue.sidebar_running": {"ru": "отвечает", "en": "answering"},
    "generation.elapsed": {"ru": "{text} {seconds} с", "en": "{text} {seconds} s"},
    "generation.stopping": {"ru": "Остановка…", "en": "Stopping…"},
    "generation.stopping_previous": {
        "ru": "Останавливаем предыдущий ответ…",
        "en": "Stopping the previous answer…",
    },
    "engine.failed": {
        "ru": "Генерация завершилась ошибкой: {detail}",
        "en": "Generation failed: {detail}",
    },
    "app.error_id": {"ru": "Код ошибки: {error_id}.", "en": "Error id: {error_id}."},
    "engine.out_of_memory": {
        "ru": "Модели не хватило памяти для этого запроса. Уменьшите детализацию в настройках "
        "(«Детализация: не больше тайлов») или выберите модель поменьше. Память освобождена — можно спрашивать снова.",
        "en": "The model ran out of memory on this request. Lower the image detail in the settings "
        '("Image detail: tiles at most") or choose a smaller model. The memory is freed: you can ask again.',
    },
    "prompt.too_long": {
        "ru": "Разговор не помещается в контекст модели: {tokens} токенов при пределе {limit}. "
        "Начните новый разговор или уменьшите число фрагментов изображения.",
        "en": "The conversation no longer fits the model's context: {tokens} tokens, and the limit is {limit}. "
        "Start a new conversation or lower the tile budget.",
    },
    # media errors
    "media.empty": {"ru": "Файл пустой.", "en": "The file is empty."},
    "media.too_large": {
        "ru": "Файл слишком большой: {size_mb} МБ при лимите {limit_mb} МБ.",
        "en": "The file is too large: {size_mb} MB, the limit is {limit_mb} MB.",
    },
    "media.unsupported_format": {
        "ru": "Это не изображение поддерживаемого формата. Поддерживаются: {allowed}.",
        "en": "This is not an image in a supported format. Supported: {allowed}.",
    },
    "media.too_many_pixels": {
        "ru": "Изображение слишком большое по числу пикселей (больше {limit_mp} Мп) — возможна «бомба распаковки».",
        "en": "The image has too many pixels (over {limit_mp} MP) — possibly a decompression bomb.",
    },
    "media.truncated": {
        "ru": "Файл изображения обрезан (недокачан или повреждён).",
        "en": "The image file is truncated (incomplete or damaged).",
    },
    "media.corrupt": {
        "ru": "Файл повреждён и не читается как изображение.",
        "en": "The file is damaged and cannot be read as an image.",
    },
    "media.too_small": {
        "ru": "Изображение слишком маленькое: {width}×{height} px (нужно хотя бы {min_side} px по каждой стороне).",
        "en": "The image is too small: {width}×{height} px (at least {min_side} px per side is needed).",
    },
    "media.bad_aspect": {
        "ru": "Слишком вытянутое изображение: {width}×{height} px (соотношение сторон не больше {max_ratio}:1).",
        "en": "The image is too elongated: {width}×{height} px (aspect ratio at most {max_ratio}:1).",
    },
    # documents
    "pdf.encrypted": {
        "ru": "PDF защищён паролем — снимите защиту и загрузите снова.",
        "en": "The PDF is password-protected — remove the protection and upload it again.",
    },
    "pdf.corrupt": {
        "ru": "PDF повреждён и не открывается.",
        "en": "The PDF is damaged and cannot be opened.",
    },
    "pdf.no_pages": {"ru": "В PDF нет ни одной страницы.", "en": "The PDF has no pages."},
    "pdf.too_many_pages": {
        "ru": "В PDF {pages} стр. — это больше предела {limit}. Загрузите нужные страницы отдельным файлом.",
        "en": "The PDF has {pages} pages, more than the limit of {limit}. "
        "Upload the pages you need as a separate file.",
    },
    "pdf.no_such_page": {
        "ru": "Страницы {page} нет: в документе {pages} стр.",
        "en": "There is no page {page}: the document has {pages} pages.",
    },
    # video
    "video.decoding": {"ru": "Разбираю видео на кадры…", "en": "Decoding the video into frames…"},
    "video.sampling": {"ru": "Дополнительно: кадры видео", "en": "Advanced: video frames"},
    "video.fps": {"ru": "Кадров в секунду видео", "en": "Frames per second of video"},
    "video.max_frames": {"ru": "Не больше кадров", "en": "Frames at most"},
    "video.max_frames_help": {
        "ru": "Каждый кадр — проход визуального энкодера (на CPU 1–2 с). Длинное видео прореживается равномерно.",
        "en": "Each frame is a pass of the vision encoder (1–2 s on a CPU). A long clip is thinned out evenly.",
    },
    "video.playlist": {
        "ru": "Это плейлист или ссылка, а не видеофайл. Загрузите сам файл MP4, WebM или MOV.",
        "en": "This is a playlist or a link, not a video file. Upload the MP4, WebM or MOV file itself.",
    },
    "video.unsupported": {
        "ru": "Формат не поддерживается. Поддерживаются изображения JPEG, PNG, WebP, PDF и видео {allowed}.",
        "en": "Unsupported format. Supported: JPEG, PNG, WebP images, PDF and {allowed} videos.",
    },
    "video.unreadable": {
        "ru": "Видео не читается: файл повреждён, обрезан или закодирован неизвестным кодеком.",
        "en": "The video cannot be read: the file is damaged, truncated or uses an unknown codec.",
    },
    "video.no_frames": {"ru": "В видео нет ни одного кадра.", "en": "The video has no frames."},
    "video.too_long": {
        "ru": "Видео длиннее {limit_s} с. Обрежьте его и загрузите снова.",
        "en": "The video is longer than {limit_s} s. Trim it and upload it again.",
    },
    "video.too_big": {
        "ru": "Кадр {width}×{height} больше допустимого ({limit} px по стороне).",
        "en": "The frames are {width}×{height}, larger than allowed ({limit} px per side).",
    },
    "video.too_small": {
        "ru": "Кадр {width}×{height} слишком мал.",
        "en": "The frames are {width}×{height}, too small.",
    },
    "video.not_here": {
        "ru": "Эта страница работает с изображениями. О видео можно спросить в чате.",
        "en": "This page works on images. You can ask about the video in the chat.",
    },
    # ocr
    "ocr.title": {"ru": "Распознавание текста (OCR)", "en": "Text extraction (OCR)"},
    "ocr.language": {"ru": "Язык текста", "en": "Text language"},
    "ocr.lang_auto": {"ru": "Определить автоматически", "en": "Detect automatically"},
    "ocr.lang_ru": {"ru": "Русский", "en": "Russian"},
    "ocr.lang_en": {"ru": "Английский", "en": "English"},
    "ocr.run": {"ru": "Распознать текст", "en": "Extract text"},
    "ocr.running": {
        "ru": "Модель читает изображение в полном разрешении ({tiles} тайлов)…",
        "en": "The model is reading the image at full resolution ({tiles} tiles)…",
    },
    "ocr.result": {"ru": "Распознанный текст (можно править)", "en": "Extracted text (editable)"},
    "ocr.no_text": {
        "ru": "На изображении не найден текст.",
        "en": "No text was found in the image.",
    },
    "ocr.done": {
        "ru": "Готово за {seconds} с · {tokens} ток. · тайлов: {tiles}",
        "en": "Done in {seconds} s · {tokens} tokens · tiles: {tiles}",
    },
    "ocr.stopped": {
        "ru": "Распознавание остановлено — ниже то, что модель успела прочитать.",
        "en": "Extraction was stopped — below is what the model had read so far.",
    },
    "ocr.download": {"ru": "Скачать .txt", "en": "Download .txt"},
    "ocr.copy": {"ru": "Копировать (кнопка в углу блока)", "en": "Copy (button in the block's corner)"},
    "ocr.settings": {"ru": "Параметры OCR", "en": "OCR settings"},
    "ocr.max_new_tokens": {"ru": "Максимум токенов текста", "en": "Max text tokens"},
    "ocr.tiles": {
        "ru": "Тайлов, не больше (больше — точнее, но медленнее)",
        "en": "Tiles at most (more is sharper but slower)",
    },
    "ocr.need_media": {
        "ru": "Сначала загрузите изображение или PDF на главной странице.",
        "en": "Upload an image or a PDF on the Home page first.",
    },
    # region
    "region.title": {"ru": "Описание области", "en": "Describe a region"},
    "region.hint": {
        "ru": "Нарисуйте прямоугольник мышью на изображении или введите координаты. Действует последний ввод.",
        "en": "Draw a rectangle on the image with the mouse, or type its coordinates. The last one entered wins.",
    },
    "region.coords": {
        "ru": "Координаты x1,y1,x2,y2 (Enter — применить)",
        "en": "Coordinates x1,y1,x2,y2 (Enter applies)",
    },
    "region.coords_help": {
        "ru": "Четыре целых числа через запятую, в пикселях исходного изображения {width}×{height}.",
        "en": "Four integers separated by commas, in pixels of the original {width}×{height} image.",
    },
    "region.clear": {"ru": "Очистить", "en": "Clear"},
    "region.no_box": {
        "ru": "Выделите область на изображении, чтобы спросить о ней.",
        "en": "Select a region on the image to ask about it.",
    },
    "region.current": {"ru": "Выбранная область: `{box}`", "en": "Selected region: `{box}`"},
    "region.describe": {"ru": "Описать область", "en": "Describe the region"},
    "region.crop_caption": {"ru": "Что видит модель (с полями)", "en": "What the model sees (with a margin)"},
    "region.follow_up": {"ru": "Вопрос об этой области…", "en": "Ask about this region…"},
    "region.empty": {"ru": "Введите координаты: x1,y1,x2,y2.", "en": "Enter the coordinates: x1,y1,x2,y2."},
    "region.count": {
        "ru": "Нужно ровно четыре числа через запятую (x1,y1,x2,y2), а найдено: {found}.",
        "en": "Exactly four numbers separated by commas are needed (x1,y1,x2,y2); found {found}.",
    },
    "region.not_number": {"ru": "«{value}» — не целое число.", "en": "'{value}' is not a whole number."},
    "region.float": {
        "ru": "«{value}» — дробное число; координаты — целые пиксели.",
        "en": "'{value}' is a fraction; coordinates are whole pixels.",
    },
    "region.unicode_digits": {
        "ru": "«{value}» содержит нестандартные цифры; используйте цифры 0–9.",
        "en": "'{value}' uses non-standard digits; use the digits 0–9.",
    },
    "region.negative": {"ru": "Координаты не могут быть отрицательными.", "en": "Coordinates cannot be negative."},
    "region.order": {
        "ru": "Нужно x1 < x2 и y1 < y2: левый верхний угол, затем правый нижний.",
        "en": "x1 < x2 and y1 < y2 are needed: the top-left corner first, then the bottom-right.",
    },
    "region.out_of_bounds": {
        "ru": "Область выходит за изображение {width}×{height}.",
        "en": "The region goes beyond the {width}×{height} image.",
    },
    "region.too_small": {
        "ru": "Область слишком мала: нужно не меньше {min_side} px по каждой стороне.",
        "en": "The region is too small: at least {min_side} px per side is needed.",
    },
    # detection
    "detect.title": {"ru": "Поиск объектов по описанию", "en": "Find objects by phrase"},
    "detect.cannot": {
        "ru": "Модель {model} не умеет надёжно находить объекты. Выберите модель с поиском объектов:",
        "en": "{model} cannot locate objects reliably. Choose a model that can:",
    },
    "detect.choose_model": {"ru": "Модель для поиска объектов", "en": "Grounding model"},
    "detect.switch_note": {
        "ru": "Переключится только эта сессия: у других пользователей останутся их модели.",
        "en": "Only this session switches: other users keep their models.",
    },
    "detect.switch": {"ru": "Переключиться", "en": "Switch"},
    "detect.query": {
        "ru": "Что найти (несколько фраз — через запятую)",
        "en": "What to find (several phrases separated by commas)",
    },
    "detect.placeholder": {"ru": "кошка, красная машина", "en": "cat, red car"},
    "detect.run": {"ru": "Найти", "en": "Detect"},
    "lab.convert_models_only": {
        "ru": "Задачу convert выполняют только модели документов (Granite-Docling, SmolDocling).",
        "en": "Only document models (Granite-Docling, SmolDocling) do the convert task.",
    },
    "lab.converters_convert_only": {
        "ru": "Модели документов только преобразуют страницы: для них выберите задачу convert.",
        "en": "Document models only convert pages: choose the convert task for them.",
    },
    "lab.tesseract_ocr_only": {
        "ru": "Tesseract только распознаёт текст: для него выберите задачу ocr.",
        "en": "Tesseract only reads text: choose the ocr task for it.",
    },
    "lab.too_many_questions": {
        "ru": "Слишком много вопросов: {count}. Можно не больше {limit}, по одному на строку.",
        "en": "Too many questions: {count}. At most {limit}, one per line.",
    },
    "detect.too_many": {
        "ru": "Слишком много фраз: {count}. За один запуск — не больше {limit}.",
        "en": "Too many phrases: {count}. One run takes at most {limit}.",
    },
    "detect.empty": {
        "ru": "Введите хотя бы одну фразу: что искать на изображении.",
        "en": "Enter at least one phrase: what to look for in the image.",
    },
    "detect.running": {
        "ru": "Ищу «{phrase}» ({index} из {total})…",
        "en": "Looking for '{phrase}' ({index} of {total})…",
    },
    "detect.done": {"ru": "Найдено объектов: {count} · {seconds} с", "en": "Objects found: {count} · {seconds} s"},
    "detect.none": {
        "ru": "По запросу «{query}» ничего не найдено. Попробуйте другие слова.",
        "en": "Nothing found for '{query}'. Try other words.",
    },
    "detect.stopped": {"ru": "Поиск остановлен.", "en": "Detection was stopped."},
    "detect.download_png": {"ru": "Скачать изображение (PNG)", "en": "Download image (PNG)"},
    "detect.download_json": {"ru": "Скачать отчёт (JSON)", "en": "Download report (JSON)"},
    "detect.col_label": {"ru": "Объект", "en": "Label"},
    "detect.col_score": {"ru": "Уверенность", "en": "Score"},
    "detect.raw": {"ru": "Исходный ответ модели", "en": "The model's raw answer"},
    # lab
    "lab.title": {"ru": "Лаборатория: сравнение моделей", "en": "Lab: compare models"},
    "lab.documents": {"ru": "Документы (JPG, PNG, WebP, PDF)", "en": "Documents (JPG, PNG, WebP, PDF)"},
    "lab.source": {"ru": "Откуда документы", "en": "Documents from"},
    "lab.source_upload": {"ru": "Загрузить файлы", "en": "Upload files"},
    "lab.source_server": {"ru": "Папка на сервере: {folder}", "en": "Server folder: {folder}"},
    "lab.no_documents": {
        "ru": "В выбранных документах нет ни одного JPG, PNG, WebP или PDF.",
        "en": "There is no JPG, PNG, WebP or PDF among the chosen documents.",
    },
    "lab.references": {"ru": "Эталонные ответы (необязательно)", "en": "Reference answers (optional)"},
    "lab.references_help": {
        "ru": "<документ>.json — ожидаемые поля, <документ>.txt — ожидаемый текст, <документ>.md — ожидаемый "
        "документ (задача convert); имя — как у документа.",
        "en": "<document>.json holds the expected fields, <document>.txt the expected text, <document>.md the "
        "expected document (convert task); named after the document.",
    },
    "lab.models": {"ru": "Модели для сравнения", "en": "Models to compare"},
    "lab.task": {"ru": "Задача", "en": "Task"},
    "lab.max_new_tokens": {"ru": "Максимум токенов ответа", "en": "Max answer tokens"},
    "lab.max_pages": {"ru": "Страниц PDF на документ", "en": "PDF pages per document"},
    "lab.questions": {"ru": "Вопросы (по одному в строке)", "en": "Questions (one per line)"},
    "lab.start": {"ru": "Запустить", "en": "Start"},
    "lab.incomplete": {
        "ru": "Нужны документы, хотя бы одна модель и (для VQA) вопросы.",
        "en": "Documents, at least one model and (for VQA) questions are needed.",
    },
    "lab.progress": {
        "ru": "{done} из {total} · осталось ≈{seconds} с · {what}",
        "en": "{done} of {total} · about {seconds} s left · {what}",
    },
    "lab.cancel": {"ru": "Отменить", "en": "Cancel"},
    "lab.waiting": {
        "ru": "Прогон ждёт: интерактивные запросы пользователей идут первыми ({detail}).",
        "en": "The run is waiting: people's interactive requests go first ({detail}).",
    },
    "lab.cancelled": {
        "ru": "Прогон отменён; в отчёте то, что успело выполниться.",
        "en": "The run was cancelled; the report covers what had finished.",
    },
    "lab.failed": {"ru": "Прогон завершился ошибкой: {detail}", "en": "The run failed: {detail}"},
    "lab.comparison": {"ru": "Сравнение моделей", "en": "Model comparison"},
    "lab.col_model": {"ru": "Модель", "en": "Model"},
    "lab.col_accuracy": {"ru": "Точность", "en": "Accuracy"},
    "lab.col_latency": {"ru": "Среднее время, с", "en": "Mean latency, s"},
    "lab.col_p95": {"ru": "p95, с", "en": "p95, s"},
    "lab.col_speed": {"ru": "Токенов/с", "en": "Tokens/s"},
    "lab.col_failures": {"ru": "Ошибок", "en": "Failures"},
    "lab.col_tables": {"ru": "Точность таблиц", "en": "Table accuracy"},
    "lab.chart": {"ru": "Точность против времени ответа", "en": "Accuracy against latency"},
    "lab.download_json": {"ru": "Скачать отчёт (JSON)", "en": "Download report (JSON)"},
    "lab.download_md": {"ru": "Скачать отчёт (Markdown)", "en": "Download report (Markdown)"},
    "lab.per_document": {"ru": "По документам", "en": "Per document"},
    "lab.document": {"ru": "Документ", "en": "Document"},
    "lab.no_preview": {"ru": "Документ не открывается.", "en": "The document cannot be opened."},
    # chat
    "chat.title": {"ru": "Чат", "en": "Chat"},
    "chat.need_media": {
        "ru": "Сначала загрузите изображение, PDF или видео на главной странице.",
        "en": "Upload an image, a PDF or a video on the Home page first.",
    },
    "region.need_media": {
        "ru": "Сначала загрузите изображение или PDF на главной странице.",
        "en": "Upload an image or a PDF on the Home page first.",
    },
    "chat.input": {"ru": "Задайте вопрос об изображении…", "en": "Ask a question about the image…"},
    "chat.input_video": {"ru": "Задайте вопрос о видео…", "en": "Ask a question about the video…"},
    "chat.video_frames": {"ru": "{frames} кадров · {seconds} с", "en": "{frames} frames · {seconds} s"},
    "chat.quick_brief": {"ru": "Кратко описать", "en": "Describe briefly"},
    "chat.quick_detailed": {"ru": "Подробно описать", "en": "Describe in detail"},
    "chat.clear": {"ru": "Очистить историю", "en": "Clear history"},
    "chat.stop": {"ru": "Остановить", "en": "Stop"},
    "chat.stopped": {"ru": "остановлено", "en": "stopped"},
    "chat.thinking": {"ru": "Модель смотрит на изображение…", "en": "The model is looking at the image…"},
    "chat.empty_question": {
        "ru": "Вопрос пустой — напишите, что вы хотите узнать об изображении.",
        "en": "The question is empty — write what you want to know about the image.",
    },
    "text.empty": {"ru": "Текст пустой.", "en": "The text is empty."},
    "text.too_long": {
        "ru": "Слишком длинный текст: {length} символов, а можно не больше {limit}. Сократите его.",
        "en": "The text is too long: {length} characters, and the limit is {limit}. Please shorten it.",
    },
    "chat.empty_answer": {"ru": "(модель не вернула текста)", "en": "(the model returned no text)"},
    "chat.stats": {
        "ru": "{tokens} ток. · {seconds} с · первый токен через {first} с · {speed} ток./с · тайлов: {tiles}",
        "en": "{tokens} tokens · {seconds} s · first token after {first} s · {speed} tokens/s · tiles: {tiles}",
    },
    "chat.stats_reused": {
        "ru": "изображение из кэша ({tokens} ток. не пересчитаны)",
        "en": "image from the cache ({tokens} tokens not recomputed)",
    },
    "chat.stats_reused_video": {
        "ru": "видео из кэша ({tokens} ток. не пересчитаны)",
        "en": "video from the cache ({tokens} tokens not recomputed)",
    },
    "chat.stats_video": {
        "ru": "{tokens} ток. · {seconds} с · первый токен через {first} с · {speed} ток./с · кадров: {tiles}",
        "en": "{tokens} tokens · {seconds} s · first token after {first} s · {speed} tokens/s · frames: {tiles}",
    },
    "chat.settings": {"ru": "Параметры генерации", "en": "Generation settings"},
    "chat.max_new_tokens": {"ru": "Максимум новых токенов", "en": "Max new tokens"},
    "chat.sampling": {"ru": "Сэмплирование", "en": "Sampling"},
    "chat.sampling_help": {
        "ru": "Выключено — жадное декодирование: один и тот же ответ на тот же вопрос.",
        "en": "Off means greedy decoding: the same answer to the same question.",
    },
    "chat.temperature": {"ru": "Температура", "en": "Temperature"},
    "chat.top_p": {"ru": "Top-p", "en": "Top-p"},
    "chat.advanced": {"ru": "Дополнительно", "en": "Advanced"},
    "chat.tiles": {"ru": "Детализация: не больше тайлов", "en": "Image detail: tiles at most"},
    "chat.tiles_help": {
        "ru": "Сколько фрагментов по {tile} px видит модель, плюс одна уменьшенная копия. Каждый фрагмент на CPU "
        "стоит 1–2 с; маленькое изображение не увеличивается сверх нужного.",
        "en": "How many {tile} px tiles the model sees, plus one downscaled overview. Each tile costs 1–2 s on a "
        "CPU; a small image is never upscaled beyond what it needs.",
    },
}


def language() -> str:
    return str(st.session_state.get(_LANG_KEY, "ru"))


def set_language(code: str) -> None:
    if code in LANGUAGES:
        st.session_state[_LANG_KEY] = code


def t(key: str, **params: object) -> str:
    """The text for ``key`` in the session's language, formatted with ``params``."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(language()) or entry["en"]
    return text.format_map(_Params(params))


class _Params(dict[str, object]):
    """Format parameters where a missing one reads as a dash: a message never fails for want of a detail."""

    def __missing__(self, name: str) -> object:
        return "—"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def literal(text: str) -> str:
    """``text`` as Streamlit markdown that shows exactly these characters (no links, images, HTML, maths)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def input_error(error: InvalidInput) -> str:
    """The message for refused input; what the person typed and is quoted back stays literal text."""
    params = {name: literal(value) if isinstance(value, str) else value for name, value in error.params.items()}
    return t(error.key, **params)


def ordinal(number: int) -> str:
    """``2`` as "2nd" or "2-й", for places in line."""
    if language() == "ru":
        return f"{number}-й"
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
