"""SPNet: predicts a scene-structure map from both networks' last features (training only)."""
from __future__ import annotations

import torch
from torch import nn

from dsr_ros.net.blocks import conv


class SPNet(nn.Module):
    """Fuses [F_sr·(1+U_sr), F_de·(1+U_de)] and maps it through five convs to a structure map.

    U = σ(conv1x1(D − D_hr)) is each network's uncertainty: where its depth is wrong its
    features are amplified, so the structure predictor leans on them there (Sun et al. §3.3).
    """

    def __init__(self, features: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or features
        self.uncertainty_sr = nn.Conv2d(1, 1, 1)
        self.uncertainty_de = nn.Conv2d(1, 1, 1)
        self.body = nn.Sequential(conv(2 * features, hidden), conv(hidden, hidden), conv(hidden, hidden),
                                  conv(hidden, hidden), conv(hidden, 1, act=False))

    def uncertainties(self, d_sr: torch.Tensor, d_de: torch.Tensor,
                      d_hr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """U_sr and U_de in (0, 1); invalid (NaN) ground truth counts as zero error."""
        err_sr = torch.nan_to_num(d_sr - d_hr, nan=0.0)
        err_de = torch.nan_to_num(d_de - d_hr, nan=0.0)
        return torch.sigmoid(self.uncertainty_sr(err_sr)), torch.sigmoid(self.uncertainty_de(err_de))

    def forward(self, f_sr: torch.Tensor, f_de: torch.Tensor, d_sr: torch.Tensor, d_de: torch.Tensor,
                d_hr: torch.Tensor) -> torch.Tensor:
        if f_sr.shape != f_de.shape:
            raise ValueError(f"SPNet needs aligned features, got {tuple(f_sr.shape)} and {tuple(f_de.shape)}")
        u_sr, u_de = self.uncertainties(d_sr, d_de, d_hr)
        return self.body(torch.cat([f_sr * (1 + u_sr), f_de * (1 + u_de)], dim=1))
