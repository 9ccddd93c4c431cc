pub struct ControlPlane;
