package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A DJL block that mirrors a PyTorch {@code nn.Module}: its children and parameters carry the module's
 * attribute names ({@code resnets}, {@code 0}, {@code norm1}, {@code weight}), so that
 * {@link #namedParameters()} yields the keys of the PyTorch {@code state_dict} one to one
 * ({@code down_blocks.0.resnets.0.norm1.weight}).
 *
 * <p>Parameters are created with their arrays at construction (PyTorch's default initialisation), on the
 * manager given to the constructor; {@link #initialize} only marks them as requiring gradients.
 */
public abstract class ModuleBlock extends AbstractBlock {

    private final Map<String, Block> modules = new LinkedHashMap<>();
    private final Map<String, Parameter> params = new LinkedHashMap<>();

    /** Creates an empty module. */
    protected ModuleBlock() {
        super((byte) 1);
    }

    /** Adds a child under its PyTorch attribute name. */
    protected <B extends Block> B module(String name, B block) {
        if (modules.containsKey(name)) {
            throw new IllegalStateException("module '" + name + "' added twice");
        }
        modules.put(name, block);
        return addChildBlock(name, block);
    }

    /** Adds a parameter holding {@code array} (which gets the name). */
    protected Parameter param(String name, Parameter.Type type, NDArray array) {
        Parameter p = Parameter.builder().setName(name).setType(type).optArray(array).build();
        array.setName(name);
        params.put(name, p);
        return addParameter(p);
    }

    /** Uniform(-bound, bound) of {@code shape}: PyTorch's default initialisation of Linear and Conv layers. */
    protected static NDArray uniform(NDManager manager, double bound, Shape shape) {
        return manager.randomUniform((float) -bound, (float) bound, shape, DataType.FLOAT32);
    }

    /** The child modules by PyTorch attribute name. */
    public Map<String, Block> modules() {
        return Collections.unmodifiableMap(modules);
    }

    /** Every parameter of this module and its children, keyed as in a PyTorch state_dict. */
    public Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect("", out);
        return out;
    }

    private void collect(String prefix, Map<String, Parameter> out) {
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            out.put(prefix + e.getKey(), e.getValue());
        }
        for (Map.Entry<String, Block> e : modules.entrySet()) {
            if (e.getValue() instanceof ModuleBlock mb) {
                mb.collect(prefix + e.getKey() + ".", out);
            }
        }
    }

    /** Every child is initialised as well (their arrays exist already: this marks them as trainable). */
    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        for (Block child : modules.values()) {
            child.initialize(manager, dataType, inputShapes);
        }
    }

    /** Initialised once every parameter has its array (which is from construction on). */
    @Override
    public boolean isInitialized() {
        for (Parameter p : getParameters().values()) {
            if (!p.isInitialized()) {
                return false;
            }
        }
        return true;
    }

    /** DJL's own parameter format stores the input shapes, which a module built from a config may not know. */
    @Override
    protected void saveMetadata(java.io.DataOutputStream os) throws java.io.IOException {
        if (inputShapes == null) {
            os.writeInt(0);
        } else {
            super.saveMetadata(os);
        }
    }

    /** Closes {@code a} unless it is one of {@code keep} (by identity). */
    static void closeUnless(NDArray a, NDArray... keep) {
        if (a == null) {
            return;
        }
        for (NDArray k : keep) {
            if (k == a) {
                return;
            }
        }
        a.close();
    }
}
