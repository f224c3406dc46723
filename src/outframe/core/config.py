"""Settings: one object, read from OUTFRAME_* environment variables, passed into create_app."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from outframe.webhooks.addresses import parse_networks


class Settings(BaseSettings):
    """Every knob of the server; see the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="OUTFRAME_", extra="ignore")

    data_dir: Path = Path("./data")
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = ""
    database_url: str = ""

    engine: Literal["classic", "diffusers", "fake"] = "classic"
    fake_engine_seconds: float = Field(0.0, ge=0, description="test engine: seconds per job")
    image_size: int = Field(1024, ge=64, le=2048, description="side of a 1:1 generated image")

    # The diffusers engine (the `[gpu]` extra); see docs/gpu.md.
    diffusers_model: Path | None = Field(
        None, description="folder of a text-to-image pipeline (SDXL, SD 1.5/2, SD3, FLUX.1)"
    )
    diffusers_inpaint_model: Path | None = Field(
        None,
        description="folder of an inpainting pipeline (SDXL/SD inpainting, FLUX.1 Fill); "
        "default: the text-to-image model's own weights in an inpainting pipeline",
    )
    diffusers_device: str = Field("auto", description="auto (cuda if present), cuda, cuda:N, cpu")
    diffusers_dtype: Literal["auto", "float16", "bfloat16", "float32"] = Field(
        "auto", description="auto: float16 on CUDA, float32 elsewhere; FLUX.1 prefers bfloat16"
    )
    diffusers_steps: int = Field(30, ge=1, le=1000, description="denoising steps per image")
    diffusers_guidance: float | None = Field(
        None, ge=0, description="classifier-free guidance scale; default: the pipeline's own"
    )
    diffusers_inpaint_guidance: float | None = Field(
        None, ge=0, description="the inpainting model's guidance scale; default: its own"
    )
    diffusers_size: int = Field(
        0, ge=0, le=4096, description="side of the generation square; 0 = the model's native"
    )
    diffusers_fill_strength: float = Field(
        0.92, gt=0, le=1, description="how far outpaint/pan/inpaint re-noise the classic pre-fill"
    )
    diffusers_variation_strength: float = Field(0.6, gt=0, le=1)
    diffusers_overlap_px: int = Field(
        24, ge=0, le=128, description="how far the repainted area reaches into the kept image"
    )
    diffusers_cpu_offload: bool = Field(
        False, description="keep weights in RAM, moving each model to the GPU when it runs"
    )
    diffusers_cpu_threads: int = Field(
        0, ge=0, le=256, description="torch threads on the CPU; 0 = all cores but one"
    )
    diffusers_load_timeout_seconds: float = Field(900.0, gt=0)

    queue: Literal["embedded", "celery"] = Field(
        "embedded", description="embedded: worker threads in the server; celery: a broker"
    )
    broker_url: str = Field("redis://127.0.0.1:6379/0", description="Celery broker")
    storage: Literal["local", "s3"] = Field("local", description="where images are kept")
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str = Field("", description="for S3-compatible services (MinIO, ...)")
    s3_region: str = ""
    s3_public_base_url: str = Field("", description="public URL of the bucket; else presigned")
    s3_presign_seconds: int = Field(7 * 24 * 3600, ge=60, le=7 * 24 * 3600)
    workers: int = Field(2, ge=0, le=64, description="in-process worker threads; 0 = API only")
    lease_seconds: float = Field(30.0, gt=0)
    job_timeout_seconds: float = Field(600.0, gt=0)
    max_attempts: int = Field(3, ge=1)
    poll_seconds: float = Field(1.0, gt=0, description="how often idle workers look for work")
    events_poll_seconds: float = Field(
        1.0, gt=0, description="how often an event stream looks at a job another process runs"
    )
    events_max_seconds: float = Field(
        300.0, gt=0, description="longest an event stream stays open; then the client reconnects"
    )

    auth_cache_seconds: float = Field(
        1.0, ge=0, description="how long a checked API key is remembered; 0 = check every time"
    )
    rate_limit_submits_per_second: float = Field(
        20.0, ge=0, description="POST requests per second per API key; 0 = no limit"
    )
    rate_limit_submit_burst: int = Field(100, ge=1, description="POSTs a key may send at once")
    rate_limit_reads_per_second: float = Field(
        100.0, ge=0, description="GET requests per second per API key; 0 = no limit"
    )
    rate_limit_read_burst: int = Field(500, ge=1, description="GETs a key may send at once")
    default_max_concurrent_jobs: int = Field(3, ge=1)
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    request_head_timeout_seconds: float = Field(
        10.0, gt=0, description="a connection whose request line and headers take longer is closed"
    )
    max_image_pixels: int = Field(64_000_000, ge=1)
    max_canvas_pixels: int = Field(
        16_777_216, ge=1, description="largest image an outpaint, pan or inpaint may make"
    )
    decode_pixel_budget: int = Field(
        64_000_000, ge=1, description="pixels of uploads decoded at once; more wait their turn"
    )
    import_quota_bytes: int = Field(
        1024**3, ge=0, description="bytes of imported images a team may keep; 0 = no limit"
    )
    retention_days: float = Field(90, gt=0, description="days images are kept after a job ends")
    video_max_steps: int = Field(
        20, ge=1, le=100, description="longest chain of zoom-outs a zoom video may go through"
    )
    video_max_frames: int = Field(
        3600, ge=2, description="most frames one zoom video may have (2 minutes at 30 fps)"
    )

    webhook_allow_http: bool = Field(False, description="allow http:// webhook URLs (development)")
    webhook_allow_networks: str = Field(
        "", description="comma-separated CIDRs webhooks may reach besides public addresses"
    )
    webhook_ca_bundle: Path | None = Field(None, description="PEM file of extra trusted CAs")
    webhook_retry_seconds: str = Field(
        "5,300,1800,7200,18000,36000,86400",
        description="delays before each retry of a completed/failed webhook",
    )
    webhook_timeout_seconds: float = Field(15.0, gt=0)
    webhook_concurrency: int = Field(16, ge=1, le=256)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="INFO: a line per request and per job transition"
    )
    log_format: Literal["text", "json"] = Field("text", description="json: for log collectors")

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("webhook_retry_seconds")
    @classmethod
    def _retry_delays(cls, value: str) -> str:
        problem = "expected comma-separated numbers of seconds, none negative"
        try:
            delays = _delays(value)
        except ValueError as exc:
            raise ValueError(problem) from exc
        if any(not delay >= 0 for delay in delays):  # (NaN too)
            raise ValueError(problem)
        return value

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"expected comma-separated CIDRs such as 10.0.0.0/8 ({exc})") from exc
        return value

    def retry_schedule(self) -> list[float]:
        return _delays(self.webhook_retry_seconds)

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'outframe.db').resolve()}"

    def resolved_public_base_url(self) -> str:
        """Where clients reach this server; defaults to http://host:port."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def scratch_dir(self) -> Path:
        """Videos being rendered (part files, never served)."""
        return self.data_dir / "scratch"


def _delays(text: str) -> list[float]:
    """OUTFRAME_WEBHOOK_RETRY_SECONDS: comma-separated seconds."""
    return [float(part) for part in text.split(",") if part.strip()]
