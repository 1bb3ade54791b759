from vdynamo.cli import main

raise SystemExit(main())
