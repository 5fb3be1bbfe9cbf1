#!/usr/bin/env bash
# Rebuild the URDF records in this folder from the public repositories they name.
#   DEX_URDF=<git dir of github.com/dexsuite/dex-urdf> WONIK=<git dir of
#   github.com/Wonikrobotics-git/allegro_hand_ros2> bash make_records.sh
# The commits are pinned; a record changes only if this script (or the tool) does.
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=config/retargeting/urdf_records
DEX_COMMIT=93505db3c0b29b4a80bd359048de7d39c9ea3218
WONIK_COMMIT=f122b14b2cf7f994af5f2ae6e38d82b90bcc0cd6
declare -A LICENCE=(
  [allegro_hand]="BSD (dex-urdf README table: BSD; robots/hands/allegro_hand/LICENSE: Copyright (c) 2016, SimLab, BSD redistribution conditions; modified by the dex_urdf authors)"
  [leap_hand]="MIT (dex-urdf README table: MIT; robots/hands/leap_hand/LICENSE.txt: MIT, Copyright 2023 Ananye Agarwal; modified by the dex_urdf authors)"
  [shadow_hand]="unclear: dex-urdf README table says GPL-3.0, robots/hands/shadow_hand/LICENSE is Apache-2.0 (Copyright 2022 Shadow Robot Company Ltd); not redistributed here"
  [inspire_hand]="CC BY-NC-SA 4.0 (dex-urdf README table; LICENSE.txt: Copyright 2024, derived from Inspire's STEP files); non-commercial, not redistributed here"
  [ability_hand]="none stated: dex-urdf README table says N/A; LICENSE.txt: Copyright 2024, derived from github.com/psyonicinc/ability-hand-api; not redistributed here"
)
declare -A LICENCE_FILE=([allegro_hand]=LICENSE [leap_hand]=LICENSE.txt [shadow_hand]=LICENSE
                         [inspire_hand]=LICENSE.txt [ability_hand]=LICENSE.txt)
for robot in allegro_hand leap_hand shadow_hand inspire_hand ability_hand; do
  for side in left right; do
    python3 scripts/urdf_record.py --git-dir "$DEX_URDF" --commit "$DEX_COMMIT" \
      --path "robots/hands/$robot/${robot}_$side.urdf" \
      --repository github.com/dexsuite/dex-urdf --licence "${LICENCE[$robot]}" \
      --licence-file "robots/hands/$robot/${LICENCE_FILE[$robot]}" \
      --robot "$robot" --side "$side" -o "$OUT/${robot}_$side.json"
  done
done
# The description Wonik's ROS 2 driver runs (joint names ah_joint00..33 = prefix ah_):
# what the Allegro driver block's names are checked against.
for side in left right; do
  python3 scripts/urdf_record.py --git-dir "$WONIK" --commit "$WONIK_COMMIT" \
    --path "allegro_hand_hardwares/v4/description/urdf/allegro_hand_description_$side.xacro" \
    --repository github.com/Wonikrobotics-git/allegro_hand_ros2 \
    --licence "BSD as declared in allegro_hand_hardwares/v4/description/package.xml (no LICENSE text in the repository at this commit); not redistributed here" \
    --licence-file allegro_hand_hardwares/v4/description/package.xml \
    --robot allegro_hand_ros2_v4 --side "$side" --define prefix=ah_ \
    --note "xacro read as XML with \${prefix} = ah_ (allegro_hand_bringup/config/v4/single_hand/allegro_hand.urdf.xacro's ah_prefix default)" \
    -o "$OUT/allegro_hand_ros2_v4_$side.json"
done
