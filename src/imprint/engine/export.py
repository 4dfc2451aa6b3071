"""Adapters that travel: an imprint adapter file as the files other tools load.

Two LoRA layouts:
- "kohya": `lora_unet_*`/`lora_te1_*`/`lora_te2_*` keys with `.lora_down`/`.lora_up`/`.alpha`, what
  ComfyUI and AUTOMATIC1111 (and diffusers' `load_lora_weights`) read; converted with diffusers'
  own `convert_state_dict_to_kohya`.
- "diffusers": `pytorch_lora_weights.safetensors` as `save_lora_weights` writes it.

Both come with the identifier as a textual-inversion embedding (`emb_params` for SD 1.x/2.x;
`clip_l`/`clip_g` for SDXL's two text encoders: the layouts A1111 and diffusers'
`load_textual_inversion` accept) named after the trigger word, and a README.txt with the trigger
phrase. The trigger replaces imprint's internal `<imprint-id>` token: a file name A1111 can use as a
prompt word, derived from the adapter's content so two exports never clash.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
from diffusers.utils import convert_state_dict_to_kohya, convert_state_dict_to_peft
from safetensors.torch import save

from imprint.engine.adapter_file import family_of, read_adapter, subject_phrase
from imprint.engine.errors import BadInput

FORMATS = ("kohya", "diffusers")
DIFFUSERS_WEIGHTS = "pytorch_lora_weights.safetensors"
README = "README.txt"
# The components an adapter's LoRA keys may start with, per text encoder order.
_TEXT_COMPONENTS = ("text_encoder", "text_encoder_2")


def trigger_word(adapter_bytes: bytes) -> str:
    """The identifier's name outside imprint: lowercase letters, digits and `_`, so that CLIP's
    tokenizer keeps it whole once it is a loaded token, and it can be a file name."""
    return f"imprint_{hashlib.sha256(adapter_bytes).hexdigest()[:8]}"


def export_adapter(adapter_bytes: bytes, *, fmt: str, base_model: object = None) -> dict[str, bytes]:
    """The exported files (file name -> content) for an imprint adapter file's bytes.

    `fmt` is "kohya" or "diffusers"; `base_model` (a name, a BaseModel, or None) is only quoted in the
    README. BadInput for an unknown format or bytes that are not an imprint adapter.
    """
    if fmt not in FORMATS:
        raise BadInput(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    metadata, lora, rows = _read(adapter_bytes)
    family = family_of(metadata)
    trigger = trigger_word(adapter_bytes)
    by_component = _split_peft(lora)
    if fmt == "kohya":
        flat = {f"{component}.{k}": v for component, part in by_component.items() for k, v in part.items()}
        weights_name = f"{trigger}_lora.safetensors"
        weights = save(
            {k: v.contiguous() for k, v in convert_state_dict_to_kohya(flat).items()},
            metadata={
                "ss_network_dim": metadata["rank"],
                "ss_network_alpha": metadata["rank"],
                "imprint_family": family,
            },
        )
    else:
        weights_name = DIFFUSERS_WEIGHTS
        weights = _diffusers_weights(family, by_component)
    embedding = _embedding(family, rows)
    subject = subject_phrase(metadata)
    return {
        weights_name: weights,
        f"{trigger}.safetensors": embedding,
        README: _readme(metadata, family, fmt, trigger, subject, weights_name, base_model).encode("utf-8"),
    }


def _read(adapter_bytes: bytes) -> tuple[dict[str, str], dict[str, torch.Tensor], tuple[torch.Tensor, ...]]:
    with tempfile.TemporaryDirectory(prefix="imprint-export-") as tmp:
        path = Path(tmp) / "adapter.safetensors"
        path.write_bytes(adapter_bytes)
        return read_adapter(path)


def _split_peft(lora: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """The LoRA keys per component ("unet", "text_encoder", "text_encoder_2"), without the component
    prefix, in peft's layout (`lora_A`/`lora_B`) whichever layout the file used."""
    parts: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in lora.items():
        component, _, rest = key.partition(".")
        if component not in ("unet", *_TEXT_COMPONENTS):
            raise BadInput(f"adapter has a LoRA key outside the UNet and text encoders: {key}")
        parts.setdefault(component, {})[rest] = value
    for component, part in parts.items():
        if any("lora_linear_layer" in k or ".lora.down" in k for k in part):
            parts[component] = convert_state_dict_to_peft(part)
    return parts


def _diffusers_weights(family: str, parts: dict[str, dict[str, torch.Tensor]]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="imprint-export-") as tmp:
        if family == "sdxl":
            StableDiffusionXLPipeline.save_lora_weights(
                tmp,
                unet_lora_layers=parts.get("unet"),
                text_encoder_lora_layers=parts.get("text_encoder"),
                text_encoder_2_lora_layers=parts.get("text_encoder_2"),
            )
        else:
            StableDiffusionPipeline.save_lora_weights(
                tmp, unet_lora_layers=parts.get("unet"), text_encoder_lora_layers=parts.get("text_encoder")
            )
        return (Path(tmp) / DIFFUSERS_WEIGHTS).read_bytes()


def _embedding(family: str, rows: tuple[torch.Tensor, ...]) -> bytes:
    if family == "sdxl":
        if len(rows) != 2:
            raise BadInput(f"an SDXL adapter carries 2 identifier rows, this one {len(rows)}")
        tensors = {"clip_l": rows[0], "clip_g": rows[1]}
    else:
        tensors = {"emb_params": rows[0]}
    return save({k: v.reshape(1, -1).to(torch.float32).contiguous() for k, v in tensors.items()})


def _readme(
    metadata: dict[str, str],
    family: str,
    fmt: str,
    trigger: str,
    subject: str,
    weights_name: str,
    base_model: object,
) -> str:
    base = getattr(base_model, "name", None) or (str(base_model) if base_model else metadata["base_model"])
    family_name = "SDXL" if family == "sdxl" else "Stable Diffusion 1.x/2.x"
    out = io.StringIO()
    out.write(f"imprint adapter, exported in the {fmt} layout\n\n")
    out.write(f"Trigger phrase: {trigger} {subject}\n")
    out.write(f'  e.g. "a photo of {trigger} {subject} on a beach"\n\n')
    out.write(f"Base model: {base} ({family_name}); trained {metadata['steps']} steps, LoRA rank "
              f"{metadata['rank']}, seed {metadata['seed']}.\n\n")
    out.write("Files:\n")
    out.write(f"  {weights_name}  the LoRA weights\n")
    out.write(f"  {trigger}.safetensors  the identifier token as a textual-inversion embedding\n\n")
    out.write("Both files are needed: the LoRA alone does not know the trigger word.\n\n")
    out.write("diffusers:\n")
    out.write(f'  pipe.load_lora_weights("{weights_name}")\n')
    if family == "sdxl":
        out.write(f'  emb = safetensors.torch.load_file("{trigger}.safetensors")\n')
        out.write(f'  pipe.load_textual_inversion(emb["clip_l"], token="{trigger}", '
                  "text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer)\n")
        out.write(f'  pipe.load_textual_inversion(emb["clip_g"], token="{trigger}", '
                  "text_encoder=pipe.text_encoder_2, tokenizer=pipe.tokenizer_2)\n")
    else:
        out.write(f'  pipe.load_textual_inversion("{trigger}.safetensors", token="{trigger}")\n')
    out.write("ComfyUI / AUTOMATIC1111:\n")
    out.write(f"  the LoRA file into models/loras (ComfyUI) or models/Lora (A1111), {trigger}.safetensors\n"
              f"  into models/embeddings (ComfyUI: write embedding:{trigger} in the prompt) or embeddings\n"
              "  (A1111).\n")
    if fmt == "diffusers":
        out.write("  (ComfyUI and A1111 read the kohya layout: export with --format kohya for them.)\n")
    return out.getvalue()
