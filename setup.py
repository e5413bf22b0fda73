from setuptools import find_packages, setup

setup(
    name='mmkd',
    version='0.1.0',
    description='Knowledge distillation for MMDetection 3.x',
    packages=find_packages(include=['mmkd', 'mmkd.*']),
    python_requires='>=3.9',
    # torch and mmcv (with ops) are installed by tools/setup_env.sh: mmcv 2.1.0 must be built
    # against the installed torch, and an unpinned torch here would pull a CUDA build.
    install_requires=[
        'mmengine==0.10.7',
        'mmdet==3.3.0',
        'pycocotools',
        'numpy',
        # mmengine resolves 'mmdet::' config paths with pkg_resources, gone from setuptools 81
        'setuptools>=61,<81',
    ],
    # optuna: tools/search_recipe.py (4.9 brought the heartbeat retry callback it uses)
    extras_require={'tests': ['pytest', 'optuna>=4.9,<6'], 'search': ['optuna>=4.9,<6']},
)
