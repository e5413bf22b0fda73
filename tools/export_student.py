"""Write the student of a distillation run as a plain MMDetection config and checkpoint.

    python tools/export_student.py CONFIG CHECKPOINT OUT_DIR [--peer I]

The result loads without mmkd:
    from mmdet.apis import init_detector
    model = init_detector('OUT_DIR/student.py', 'OUT_DIR/student.pth', device='cpu')
"""
import argparse

from mmkd.apis import export_student
from mmkd.utils import config_argument


def main():
    parser = argparse.ArgumentParser(description='Export the student of a distillation run')
    parser.add_argument('config', type=config_argument, help='the distillation config (model: mmkd.DistillDetector)')
    parser.add_argument('checkpoint', help='a checkpoint of that run')
    parser.add_argument('out_dir', help='where student.py and student.pth are written')
    parser.add_argument('--peer', type=int,
                        help='for a mutual-learning run (mmkd.MutualDetector): the peer to write')
    args = parser.parse_args()
    config_out, weights_out = export_student(args.config, args.checkpoint, args.out_dir,
                                             args.peer)
    print(f'student config: {config_out}\nstudent weights: {weights_out}')


if __name__ == '__main__':
    main()
